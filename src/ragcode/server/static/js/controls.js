// Chat controls of the original chatbot, as buttons and as words typed into the chat:
// clear memory (the history stays), references on/off, and the models serving answers.
// References off hides the reference cards of every answer on screen and to come; retrieval
// still runs (code and document answers are grounded in it) and the history keeps them, so
// turning them on shows them again. The choice is remembered in localStorage.
import { t } from "./i18n.js";
import { el, label } from "./render.js";

const REFS_KEY = "ragcode.refs";
const CLEAR = new Set(["/clear", "/forget", "메모리 삭제", "기억 지우기", "clear memory"]);
const MODELS = new Set(["/models", "모델 목록", "list models"]);
const REFS = /^(?:\/refs|\/references|참고|참조|references)\s+(on|off|켜기|끄기)$/i;

// What a typed line asks for: { command: "clear" | "models" | "refs", on? }, or null (a question).
export function parseCommand(text) {
  const line = text.trim().replace(/\s+/g, " ");
  const lower = line.toLowerCase();
  if (CLEAR.has(lower)) return { command: "clear" };
  if (MODELS.has(lower)) return { command: "models" };
  const refs = REFS.exec(line);
  if (refs) return { command: "refs", on: ["on", "켜기"].includes(refs[1].toLowerCase()) };
  return null;
}

export class ReferencesToggle {
  // `checkbox`: the topbar switch; `messages`: the conversation, whose cards it shows or hides.
  constructor({ checkbox, messages }) {
    this.checkbox = checkbox;
    this.messages = messages;
    checkbox.addEventListener("change", () => this.set(checkbox.checked));
    this.set(localStorage.getItem(REFS_KEY) !== "off");
  }

  get on() { return this.checkbox.checked; }

  set(on) {
    this.checkbox.checked = on;
    this.messages.classList.toggle("refs-off", !on);
    localStorage.setItem(REFS_KEY, on ? "on" : "off");
  }
}

// `GET /api/models` (the session cookie travels by itself).
async function fetchModels() {
  const response = await fetch("/api/models", { credentials: "same-origin" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`);
  return data;
}

const HEALTH_KEYS = { ok: "healthOk", down: "healthDown", probing: "healthProbing", unknown: "healthUnknown" };

// The "모델" panel: the model answers go by and each endpoint with its health; where an endpoint
// is shows for admins only (the server leaves it out for others).
export class ModelsPanel {
  constructor({ panel, button, notify }) {
    this.panel = panel;
    this.notify = notify;
    button.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
  }

  async open() {
    let models;
    try {
      models = await fetchModels();
    } catch (error) {
      this.notify(error.message);
      return;
    }
    const close = label("button", "link models-close", "close");
    close.type = "button";
    close.addEventListener("click", () => this.close());
    const head = el("div", "models-head");
    head.append(label("strong", null, "models"), close);
    const model = el("p", "models-model");
    model.append(label("span", "muted", "modelName"), " ", el("code", null, models.model || "?"));
    const list = el("ul", "models-endpoints");
    for (const endpoint of models.endpoints) list.append(this.endpoint(endpoint));
    this.panel.replaceChildren(head, model, list);
    this.panel.hidden = false;
  }

  endpoint(endpoint) {
    const item = el("li", "models-endpoint");
    item.dataset.health = endpoint.health;
    const health = label("span", `health health-${endpoint.health}`, HEALTH_KEYS[endpoint.health] ?? "healthUnknown");
    item.append(el("code", "endpoint-name", endpoint.name || "?"), " ", el("span", "muted", endpoint.kind), " ", health);
    if (endpoint.in_flight != null) {
      const counts = `${t("endpointCounts")} ${endpoint.in_flight} / ${endpoint.completed} / ${endpoint.failed}`;
      item.append(" ", el("span", "small muted endpoint-counts", counts));
    }
    if (endpoint.location) item.append(el("div", "small endpoint-location", endpoint.location));
    return item;
  }

  close() { this.panel.hidden = true; }

  clear() { this.panel.replaceChildren(); this.panel.hidden = true; }
}

// Words typed into the chat that are commands, not questions (`run` says whether it was one).
export class Commands {
  // `forget()`: clear the shown conversation's memory; `refs`: a ReferencesToggle; `models`: a
  // ModelsPanel; `notify(text)`: a short notice of what was done.
  constructor({ forget, refs, models, notify }) {
    Object.assign(this, { forget, refs, models, notify });
  }

  run(text) {
    const parsed = parseCommand(text);
    if (!parsed) return false;
    if (parsed.command === "clear") this.forget();
    else if (parsed.command === "models") this.models.open();
    else {
      this.refs.set(parsed.on);
      this.notify(t(parsed.on ? "refsShown" : "refsHidden"));
    }
    return true;
  }
}
