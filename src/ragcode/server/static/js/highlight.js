// A tiny syntax highlighter that only ever builds text nodes and spans (never innerHTML).
const KEYWORDS = {
  python: "and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return True try while with yield self",
  javascript: "async await break case catch class const continue default delete do else export extends false finally for function if import in instanceof let new null return super switch this throw true try typeof undefined var void while yield of",
  java: "abstract boolean break byte case catch char class continue default do double else enum extends final finally float for if implements import instanceof int interface long new null package private protected public return short static super switch this throw throws true false try void while var",
  go: "break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false",
};
KEYWORDS.typescript = `${KEYWORDS.javascript} interface type enum implements private public readonly as`;
KEYWORDS.tsx = KEYWORDS.typescript;
const ALIASES = { py: "python", js: "javascript", ts: "typescript", golang: "go", jsx: "javascript" };

const TOKEN = /(#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`|\b\d+(?:\.\d+)?\b|\b[A-Za-z_][A-Za-z0-9_]*\b)/g;

function classify(token, keywords, language) {
  if (token.startsWith("#")) return language === "python" ? "comment" : null;
  if (token.startsWith("//") || token.startsWith("/*")) return language === "python" ? null : "comment";
  if (/^["'`]/.test(token)) return "string";
  if (/^\d/.test(token)) return "number";
  if (keywords.has(token)) return "keyword";
  return null;
}

export function highlight(code, language) {
  const lang = ALIASES[language] ?? language;
  const keywords = new Set((KEYWORDS[lang] ?? "").split(" "));
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of code.matchAll(TOKEN)) {
    const kind = classify(match[0], keywords, lang);
    if (!kind) continue;
    if (match.index > last) fragment.append(document.createTextNode(code.slice(last, match.index)));
    const span = document.createElement("span");
    span.className = `tok-${kind}`;
    span.textContent = match[0];
    fragment.append(span);
    last = match.index + match[0].length;
  }
  fragment.append(document.createTextNode(code.slice(last)));
  return fragment;
}
