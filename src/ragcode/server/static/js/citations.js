// The [n] markers of a document answer as links to its reference cards: each sentence ends
// with the number of the chunk it came from (the server attaches them: documents/attribution.py).
// Hovering a marker highlights its sentence and its card; clicking opens the card. Only text
// nodes outside code are touched, and everything is built with textContent (no model HTML).
// The server sends (and the history keeps) which sentence each marker closes; a turn without
// that map (older history) falls back to reading the sentence back from the text.
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

// Markdown marks and markers dropped, blanks squeezed: how a sentence reads once rendered.
function plain(text) {
  return text.replace(MARKER, "").replace(/[*_~`]/g, "").replace(/\s+/g, " ").trim();
}

// Every marker the server read in the answer, in order: its number, its sentence (index) and
// that sentence's text up to the marker. Offsets count code points (Python), hence Array.from.
function markerSentences(text, sentences) {
  if (!Array.isArray(sentences) || !sentences.length || typeof text !== "string") return [];
  const points = Array.from(text);
  const found = [];
  for (const sentence of sentences) {
    if (!Number.isInteger(sentence?.start) || !Number.isInteger(sentence?.end)) continue;
    // Code is skipped as the server skips it (an `arr[1]` in a fence is not a marker).
    const raw = points
      .slice(sentence.start, sentence.end)
      .join("")
      .replace(/(```|~~~)[\s\S]*?(?:\1|$)/g, "")
      .replace(/`[^`\n]*`/g, "");
    for (const match of raw.matchAll(MARKER)) {
      found.push({ number: Number(match[1]), index: sentence.index, said: plain(raw.slice(0, match.index)) });
    }
  }
  return found;
}

// Where in `before` (the text node up to a marker) its sentence starts: the longest tail that
// ends the sentence's text (a sentence begun in bold or a link shows its tail here only).
function sentenceStart(before, said) {
  if (!said) return -1;
  // A tail much longer than the sentence cannot end it (markup aside): start near the end
  // instead of running plain() over every tail of a long paragraph.
  for (let i = Math.max(0, before.length - 2 * said.length - 64); i < before.length; i++) {
    if (/\s/.test(before[i])) continue;
    const tail = plain(before.slice(i));
    if (tail && said.endsWith(tail)) return i;
  }
  return -1;
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
// reference dicts, document ones numbered from 1 in order; `text` and `sentences`: the answer
// as sent and the server's sentence map ({index, start, end, sources}), when there is one.
export function linkCitations(body, list, references, { text: answer, sentences } = {}) {
  const cards = list ? [...list.querySelectorAll(":scope > ol > li")] : [];
  const byNumber = new Map();
  references.forEach((ref, index) => {
    if (typeof ref.number === "number" && cards[index]) byNumber.set(ref.number, { ref, card: cards[index] });
  });
  if (!byNumber.size) return;
  const known = markerSentences(answer, sentences);
  const spans = new Map(); // sentence index -> its span: "[1][2]" highlight the same one
  let next = 0; // the server's next marker; a marker it did not read keeps the fallback
  for (const node of textNodes(body)) {
    const text = node.nodeValue;
    if (!/\[\d{1,2}\]/.test(text)) continue;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(MARKER)) {
      const number = Number(match[1]);
      const mapped = known[next]?.number === number ? known[next++] : null;
      const source = byNumber.get(number);
      if (!source) continue;
      const before = text.slice(last, match.index);
      // The sentence the marker closes, as its own span so a hover can highlight it.
      let start = -1;
      if (mapped) start = sentenceStart(before, mapped.said);
      else {
        const said = sentenceBefore(text, match.index);
        start = said ? before.lastIndexOf(said) : -1;
      }
      let sentence = mapped ? spans.get(mapped.index) ?? null : null;
      if (start >= 0) {
        parts.append(before.slice(0, start));
        sentence = el("span", "cited-text", before.slice(start));
        sentence.dataset.source = match[1];
        if (mapped) spans.set(mapped.index, sentence);
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
