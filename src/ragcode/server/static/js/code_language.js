// issue 15.2: the code language of code generation. "자동" (auto) by default, or one of the
// languages the user's searchable code holds, with how many units each has (GET
// /api/code-languages). Shown in code mode only; the choice is remembered in localStorage and
// sent with each code question (`code_language`), which the server searches alone.
import { onLanguageChange, t } from "./i18n.js";

const KEY = "ragcode.codeLanguage";
const AUTO = "auto";
const NAMES = { python: "Python", javascript: "JavaScript", typescript: "TypeScript", java: "Java", go: "Go" };

async function fetchLanguages() {
  const response = await fetch("/api/code-languages", { credentials: "same-origin" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`);
  return data.languages ?? [];
}

export class CodeLanguageChoice {
  // `wrapper`: the label shown in code mode; `select`: its <select>; `modes`: the mode selector.
  constructor({ wrapper, select, modes }) {
    this.wrapper = wrapper;
    this.select = select;
    this.modes = modes;
    this.languages = [];
    select.addEventListener("change", () => localStorage.setItem(KEY, select.value));
    modes.addEventListener("change", () => this.sync());
    onLanguageChange(() => this.render());
  }

  // Re-read the languages (after login, or once an upload is indexed).
  async refresh() {
    try {
      this.languages = await fetchLanguages();
    } catch {
      this.languages = []; // the choice falls back to auto; questions still work
    }
    this.render();
  }

  render() {
    const saved = localStorage.getItem(KEY) ?? AUTO;
    const auto = document.createElement("option");
    auto.value = AUTO;
    auto.textContent = t("codeLanguageAuto");
    const options = [auto];
    for (const { language, units } of this.languages) {
      const option = document.createElement("option");
      option.value = language;
      option.textContent = `${NAMES[language] ?? language} (${units})`;
      options.push(option);
    }
    this.select.replaceChildren(...options);
    this.select.value = options.some((option) => option.value === saved) ? saved : AUTO;
    this.sync();
  }

  sync() { this.wrapper.hidden = this.modes.value !== "code"; }

  // What a request of `mode` carries: { code_language } for a chosen language in code mode.
  extra(mode) {
    const value = this.select.value;
    return mode === "code" && value && value !== AUTO ? { code_language: value } : {};
  }
}
