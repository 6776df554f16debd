// Inline Markdown of model text as DOM nodes (textContent only, never innerHTML):
// `code`, **bold**, *italic*/_italic_ (not in snake_case or __init__), [links](url) and
// bare http(s) URLs.
// A link opens in a new tab without access to this page; any other scheme is shown as text.
const INLINE = new RegExp([
  "`([^`\\n]+)`",
  "\\*\\*(?!\\s)([^*\\n]+?)\\*\\*",
  "\\*(?![\\s*])([^*\\n]+?)\\*",
  "(?<!\\w)_(?![\\s_])([^_\\n]+?)_(?!\\w)",
  "\\[([^\\]\\n]+)\\]\\(([^()\\s]*(?:\\([^()\\s]*\\)[^()\\s]*)*)(?:\\s+\"[^\"\\n]*\")?\\)",
  "(https?:\\/\\/[^\\s<>()\\[\\]]*[^\\s<>()\\[\\].,;:!?'\"])",
].join("|"), "g");

// The URL a link may point to: http(s) or relative to this page, resolved as the browser
// would (control characters, entities and mixed case cannot smuggle in another scheme).
export function safeHref(raw) {
  try {
    const url = new URL(raw, document.baseURI);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function link(text, raw, source, parent) {
  const href = safeHref(raw);
  if (!href) { parent.append(document.createTextNode(source)); return; }
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer";
  renderInline(text, anchor, { links: false });
  parent.append(anchor);
}

function wrapped(tag, text, parent, options) {
  const node = document.createElement(tag);
  renderInline(text, node, options);
  parent.append(node);
}

export function renderInline(text, parent, { links = true } = {}) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    const [source, code, bold, italic, italic2, label, url, bare] = match;
    if ((label !== undefined || bare !== undefined) && !links) continue;
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    last = match.index + source.length;
    if (code !== undefined) {
      const node = document.createElement("code");
      node.textContent = code;
      parent.append(node);
    } else if (bold !== undefined) wrapped("strong", bold, parent, { links });
    else if (italic !== undefined || italic2 !== undefined) wrapped("em", italic ?? italic2, parent, { links });
    else if (label !== undefined) link(label, url, source, parent);
    else link(bare, bare, bare, parent);
  }
  parent.append(document.createTextNode(text.slice(last)));
}
