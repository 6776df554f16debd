// Shared DOM helpers (textContent only, never innerHTML) and the code block: a language
// label, copy and download buttons, highlighted code and, from a start line, line numbers.
import { highlight } from "./highlight.js";
import { t } from "./i18n.js";

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// An element showing the UI string `key`: marked data-i18n, so a language switch relabels it
// (i18n.js applyTranslations) wherever it was drawn.
export function label(tag, className, key) {
  const node = el(tag, className, t(key));
  node.dataset.i18n = key;
  return node;
}

export function copyButton(getText) {
  const button = label("button", "copy", "copy");
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

const EXTENSIONS = {
  python: "py", py: "py", javascript: "js", js: "js", jsx: "jsx", node: "js", typescript: "ts",
  ts: "ts", tsx: "tsx", java: "java", go: "go", golang: "go", rust: "rs", c: "c", cpp: "cpp",
  "c++": "cpp", csharp: "cs", "c#": "cs", cs: "cs", kotlin: "kt", swift: "swift", ruby: "rb",
  php: "php", sql: "sql", bash: "sh", sh: "sh", shell: "sh", json: "json", yaml: "yaml",
  yml: "yaml", toml: "toml", html: "html", css: "css", markdown: "md", md: "md", csv: "csv",
};

// The file name a code block downloads as: the reference's own name, else one from its language.
export function downloadName(language, filename) {
  if (filename) return filename.split("/").pop();
  return `code.${EXTENSIONS[(language || "").toLowerCase()] ?? "txt"}`;
}

export function downloadButton(getText, filename) {
  const button = label("button", "download", "download");
  button.type = "button";
  button.title = filename;
  button.addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([getText()], { type: "text/plain;charset=utf-8" }));
    const anchor = el("a");
    anchor.href = url;
    anchor.download = filename;
    anchor.hidden = true;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  return button;
}

export function codeBlock(code, language, { startLine, filename } = {}) {
  const box = el("div", "code-block");
  const bar = el("div", "code-bar");
  const actions = el("span", "code-actions");
  actions.append(copyButton(() => code), downloadButton(() => code, downloadName(language, filename)));
  bar.append(el("span", "code-lang", language || "text"), actions);
  const body = el("div", "code-body");
  if (startLine) {
    const count = code.split("\n").length;
    const numbers = Array.from({ length: count }, (_, n) => String(Number(startLine) + n));
    const gutter = el("pre", "line-numbers", numbers.join("\n"));
    gutter.setAttribute("aria-hidden", "true");
    body.append(gutter);
  }
  const pre = el("pre", "code");
  if (startLine) pre.dataset.start = String(startLine);
  const codeEl = el("code");
  codeEl.append(highlight(code, (language || "").toLowerCase()));
  pre.append(codeEl);
  body.append(pre);
  box.append(bar, body);
  return box;
}
