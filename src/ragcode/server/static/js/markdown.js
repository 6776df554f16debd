// Markdown of model answers as DOM nodes (textContent only: raw HTML from the model stays
// text): fenced code blocks, headings, lists (nested), GFM pipe tables, block quotes, rules
// and paragraphs; inline.js does what is inside a line.
import { renderInline } from "./inline.js";
import { codeBlock, el } from "./render.js";

const FENCE = /```([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const ITEM = /^(\s*)([-*+]|\d{1,3}[.)])\s+(.*)$/; // not "2025. 3. 14."
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const RULE = /^\s{0,3}([-*_])(?:\s*\1){2,}\s*$/;
const DIVIDER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function cells(line) {
  const body = line.trim().replace(/^\|/, "").replace(/(?<!\\)\|$/, "");
  return body.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function isTableStart(lines, i) {
  return lines[i].includes("|") && i + 1 < lines.length && DIVIDER.test(lines[i + 1])
    && lines[i + 1].includes("-") && cells(lines[i]).length === cells(lines[i + 1]).length;
}

function table(lines, i, parent) {
  const header = cells(lines[i]);
  const aligns = cells(lines[i + 1]).map((cell) => (
    cell.endsWith(":") ? (cell.startsWith(":") ? "center" : "right") : cell.startsWith(":") ? "left" : ""));
  const tableEl = el("table");
  const row = (values, tag) => {
    const tr = el("tr");
    header.forEach((_, column) => {
      const cell = el(tag);
      if (aligns[column]) cell.style.textAlign = aligns[column];
      renderInline(values[column] ?? "", cell);
      tr.append(cell);
    });
    return tr;
  };
  const head = el("thead");
  head.append(row(header, "th"));
  const body = el("tbody");
  let next = i + 2;
  for (; next < lines.length && lines[next].includes("|") && lines[next].trim(); next += 1) {
    body.append(row(cells(lines[next]), "td"));
  }
  tableEl.append(head, body);
  const scroller = el("div", "table-wrap");
  scroller.append(tableEl);
  parent.append(scroller);
  return next;
}

// Items of one list; an item indented deeper than the first opens a list inside the last one.
function list(lines, i, parent) {
  const first = lines[i].match(ITEM);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const listEl = el(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) listEl.start = parseInt(first[2], 10);
  let item = null;
  let next = i;
  while (next < lines.length) {
    const match = lines[next].match(ITEM);
    if (match && match[1].length > indent && item) { next = list(lines, next, item); continue; }
    if (!match || match[1].length < indent || /\d/.test(match[2]) !== ordered) {
      const continued = item && lines[next].trim() && !match && /^\s+/.test(lines[next]);
      if (!continued) break;
      item.append(el("br"));
      renderInline(lines[next].trim(), item);
      next += 1;
      continue;
    }
    item = el("li");
    renderInline(match[3], item);
    listEl.append(item);
    next += 1;
  }
  parent.append(listEl);
  return next;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return !line.trim() || HEADING.test(line) || ITEM.test(line) || QUOTE.test(line)
    || RULE.test(line) || isTableStart(lines, i);
}

function blocks(text, parent) {
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const heading = line.match(HEADING);
    if (!line.trim()) { i += 1; continue; }
    if (heading) {
      const node = el(`h${heading[1].length}`);
      renderInline(heading[2], node);
      parent.append(node);
      i += 1;
    } else if (RULE.test(line)) { parent.append(el("hr")); i += 1; }
    else if (isTableStart(lines, i)) i = table(lines, i, parent);
    else if (ITEM.test(line)) i = list(lines, i, parent);
    else if (QUOTE.test(line)) {
      const quoted = [];
      for (; i < lines.length && QUOTE.test(lines[i]); i += 1) quoted.push(lines[i].match(QUOTE)[1]);
      const quote = el("blockquote");
      blocks(quoted.join("\n"), quote);
      parent.append(quote);
    } else {
      const p = el("p");
      renderInline(line, p);
      for (i += 1; i < lines.length && !startsBlock(lines, i); i += 1) {
        p.append(el("br"));
        renderInline(lines[i], p);
      }
      parent.append(p);
    }
  }
}

export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    blocks(text.slice(last, match.index), fragment);
    fragment.append(codeBlock(match[2].replace(/\n$/, ""), match[1]));
    last = match.index + match[0].length;
  }
  blocks(text.slice(last), fragment);
  return fragment;
}
