// The [n] markers of a document answer as links to its reference cards: each sentence ends
// with the number of the chunk it came from (the server attaches them: documents/attribution.py).
// Hovering a marker highlights its sentence and its card; clicking opens the card. Only text
// nodes outside code are touched, and everything is built with textContent (no model HTML).
import { t } from "./i18n.js";
import { el } from "./render.js";

const MARKER = /\[(\d{1,2})\]/g;

function textNodes(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest("pre, code") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  return nodes;
}

// The text of the marker's sentence: back from the marker to the previous sentence end.
function sentenceBefore(text, offset) {
  const head = text.slice(0, offset);
  const cut = Math.max(...[". ", "? ", "! ", "\n", "]. ", "] "].map((end) => head.lastIndexOf(end)));
  return head.slice(cut < 0 ? 0 : cut + 1).trim();
}

function flash(card, on) {
  card.classList.toggle("cited-source", on);
}

function markerLink(number, ref, card, sentence) {
  const link = el("a", "cite", `[${number}]`);
  link.href = "#";
  link.dataset.source = String(number);
  const where = [ref.title, [ref.source, ref.location].filter(Boolean).join(" · ")].filter(Boolean).join(" — ");
  link.title = `${t("citeSource")} [${number}] ${where}`;
  link.setAttribute("aria-label", link.title);
  link.addEventListener("mouseenter", () => { flash(card, true); sentence?.classList.add("cited-sentence"); });
  link.addEventListener("mouseleave", () => { flash(card, false); sentence?.classList.remove("cited-sentence"); });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const toggle = card.querySelector(".reference-toggle");
    if (toggle?.getAttribute("aria-expanded") === "false") toggle.click();
    card.scrollIntoView({ block: "nearest" });
    flash(card, true);
    setTimeout(() => flash(card, false), 1500);
  });
  return link;
}

// `body`: the rendered answer; `list`: the references box (referenceList); `references`: the
// reference dicts, document ones numbered from 1 in order.
export function linkCitations(body, list, references) {
  const cards = list ? [...list.querySelectorAll(":scope > ol > li")] : [];
  const byNumber = new Map();
  references.forEach((ref, index) => {
    if (typeof ref.number === "number" && cards[index]) byNumber.set(ref.number, { ref, card: cards[index] });
  });
  if (!byNumber.size) return;
  for (const node of textNodes(body)) {
    const text = node.nodeValue;
    if (!/\[\d{1,2}\]/.test(text)) continue;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(MARKER)) {
      const source = byNumber.get(Number(match[1]));
      if (!source) continue;
      const before = text.slice(last, match.index);
      const said = sentenceBefore(text, match.index);
      // The sentence the marker closes, as its own span so a hover can highlight it.
      const start = before.lastIndexOf(said);
      let sentence = null;
      if (said && start >= 0) {
        parts.append(before.slice(0, start));
        sentence = el("span", "cited-text", before.slice(start));
        sentence.dataset.source = match[1];
        parts.append(sentence);
      } else parts.append(before);
      parts.append(markerLink(Number(match[1]), source.ref, source.card, sentence));
      last = match.index + match[0].length;
    }
    if (!last) continue;
    parts.append(text.slice(last));
    node.replaceWith(parts);
  }
}
