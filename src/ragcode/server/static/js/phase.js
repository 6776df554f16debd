// While an answer is prepared: what is happening (검색 중 / 생성 중) and for how long, above the
// input, and the send button disabled until the answer ends (completed, stopped or failed).
// The phases come from frames the server sends anyway: `istyping` starts the request (code and
// document Q&A search first), the first `proceeding` delta means the model is writing. Until
// that delta the label says 검색 중 also while the model reads the found context (no frame
// marks the end of the search). The chat view calls `phaseBegin` and `phaseFrame`.
import { lang, onLanguageChange } from "./i18n.js";

const SEARCHING_MODES = new Set(["code", "qa"]);
const WORDS = {
  ko: { searching: "검색 중", generating: "생성 중", seconds: (s) => `${s}초` },
  en: { searching: "Searching", generating: "Generating", seconds: (s) => `${s} s` },
};

// One page, one composer: the requests in flight of this tab (request id -> phase, start).
const active = new Map();
let ticker = null;

function label() {
  let node = document.getElementById("phase");
  if (!node) {
    node = document.createElement("div");
    node.id = "phase";
    node.className = "phase small muted";
    node.setAttribute("role", "status");
    node.hidden = true;
    document.getElementById("composer")?.before(node);
  }
  return node;
}

function render() {
  const node = label();
  const send = document.getElementById("send");
  if (send) send.disabled = active.size > 0;
  const latest = [...active.values()].at(-1);
  node.hidden = !latest;
  if (!latest) {
    clearInterval(ticker);
    ticker = null;
    node.replaceChildren();
    return;
  }
  const words = WORDS[lang()] ?? WORDS.ko;
  const seconds = Math.floor((Date.now() - latest.started) / 1000);
  node.dataset.phase = latest.phase;
  node.textContent = `${words[latest.phase]} · ${words.seconds(seconds)}`;
  if (!ticker) ticker = setInterval(render, 1000);
}

// A request was sent (also "계속" and whatever else opens an answer bubble).
export function phaseBegin(requestId, mode) {
  active.set(requestId, { mode, phase: firstPhase(mode), started: Date.now() });
  render();
}

function firstPhase(mode) { return SEARCHING_MODES.has(mode) ? "searching" : "generating"; }

// Every frame of a request, whether or not its bubble is on screen.
export function phaseFrame(message) {
  const entry = active.get(message.request_id);
  if (!entry) return;
  if (message.status === "istyping") entry.phase = firstPhase(entry.mode); // resent: starts over
  else if (message.status === "proceeding") entry.phase = "generating";
  else if (message.status === "completed" || message.status === "error") active.delete(message.request_id);
  else return;
  render();
}

// True while some answer is still coming: the composer does not send another one.
export function answering() { return active.size > 0; }

// The session ended (logout, another login): nothing that was in flight will report back.
export function phaseReset() {
  active.clear();
  render();
}

onLanguageChange(() => { if (active.size) render(); });
