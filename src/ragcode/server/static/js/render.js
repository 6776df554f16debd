// Markdown-ish rendering of model answers with DOM nodes and textContent only:
// fenced code blocks (highlighted, with a copy button), paragraphs, `inline code`, **bold**.
import { highlight } from "./highlight.js";
import { t } from "./i18n.js";

const FENCE = /```([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;
const INLINE = /(`[^`\n]+`|\*\*[^*\n]+\*\*)/g;

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function inline(text, parent) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    const token = match[0];
    parent.append(token.startsWith("`") ? el("code", null, token.slice(1, -1)) : el("strong", null, token.slice(2, -2)));
    last = match.index + token.length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

export function copyButton(getText) {
  const button = el("button", "copy", t("copy"));
  button.type = "button";
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(getText());
      button.textContent = t("copied");
      setTimeout(() => { button.textContent = t("copy"); }, 1500);
    } catch { button.textContent = "×"; }
  });
  return button;
}

export function codeBlock(code, language, { startLine } = {}) {
  const box = el("div", "code-block");
  const bar = el("div", "code-bar");
  bar.append(el("span", "code-lang", language || "text"), copyButton(() => code));
  const pre = el("pre");
  if (startLine) pre.dataset.start = String(startLine);
  const codeEl = el("code");
  codeEl.append(highlight(code, (language || "").toLowerCase()));
  pre.append(codeEl);
  box.append(bar, pre);
  return box;
}

function paragraphs(text, parent) {
  for (const raw of text.split(/\n{2,}/)) {
    const block = raw.replace(/^\n+|\n+$/g, "");
    if (!block.trim()) continue;
    const p = el("p");
    block.split("\n").forEach((line, index) => {
      if (index) p.append(el("br"));
      inline(line, p);
    });
    parent.append(p);
  }
}

export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    paragraphs(text.slice(last, match.index), fragment);
    fragment.append(codeBlock(match[2].replace(/\n$/, ""), match[1]));
    last = match.index + match[0].length;
  }
  paragraphs(text.slice(last), fragment);
  return fragment;
}
