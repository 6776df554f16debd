// Wires the page: login or chat, the socket, the mode selector (remembered), conversations
// with their history, uploads.
import { api } from "./api.js";
import { ApiKeys } from "./apikeys.js";
import { ChatView } from "./chat.js";
import { DocumentSummaries } from "./doc_summary.js";
import { Conversations } from "./conversations.js";
import { Documents } from "./documents.js";
import { applyTranslations, modeLabel, t, toggleLanguage } from "./i18n.js";
import { Repos } from "./repos.js";
import { ChatSocket } from "./socket.js";
import { Commands, ModelsPanel, ReferencesToggle } from "./controls.js"; // issue 15.4
import { answering, phaseReset } from "./phase.js";
import { Welcome } from "./welcome.js";
import { CodeLanguageChoice } from "./code_language.js"; // issue 15.2

const MODES = ["normal", "translation", "grammar", "sentiment", "extraction", "pii", "step-by-step", "timestamp-extraction", "code", "qa"];
const $ = (id) => document.getElementById(id);

let socket = null;
let oldestTurn = null;
const chat = new ChatView($("messages"), {
  onContinue: continueAnswer, onStop: (id) => socket?.stop(id), onResend: resendLast, // issue 15.11
});
const docSummaries = new DocumentSummaries(chat); // issue 15.1: summaries of uploads
const documents = new Documents({ list: $("documents"), input: $("upload-input"), chat, notify });
const apiKeys = new ApiKeys({ form: $("apikey-form"), name: $("apikey-name"), list: $("apikeys"), created: $("apikey-created"), notify });
const repos = new Repos({ list: $("repos"), notify });
const welcome = new Welcome({ container: $("messages"), select: $("mode-select"), input: $("input") });
const conversations = new Conversations({
  list: $("conversations"), more: $("more-conversations"), notify, onSelect: showConversation,
});
// issue 15.4: references on/off, the models panel, and the same controls typed into the chat.
const refs = new ReferencesToggle({ checkbox: $("refs-toggle"), messages: $("messages") });
const models = new ModelsPanel({ panel: $("models-panel"), button: $("models-button"), notify });
const commands = new Commands({ forget: forgetMemory, refs, models, notify });
// issue 15.2: the code language of code mode (auto, or one the user's code holds).
const codeLanguage = new CodeLanguageChoice({ wrapper: $("code-language"), select: $("code-language-select"), modes: $("mode-select") });

function notify(text, timeout = 4000) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(notify.timer);
  if (timeout) notify.timer = setTimeout(() => { notice.hidden = true; }, timeout);
}

function fillModes() {
  const select = $("mode-select");
  const saved = localStorage.getItem("ragcode.mode");
  select.replaceChildren();
  for (const mode of MODES) {
    const option = document.createElement("option");
    option.value = mode;
    option.textContent = modeLabel(mode);
    select.append(option);
  }
  select.value = MODES.includes(saved) ? saved : "normal";
}

// A page of the selected conversation's turns; a page that arrives after the user switched to
// another conversation is dropped (turns of two conversations never mix on screen).
async function loadHistory(before) {
  const conversation = conversations.current;
  if (!conversation) { $("load-more").hidden = true; return 0; }
  const page = await api.history(before, conversation);
  if (conversation !== conversations.current) return 0;
  const turns = before ? [...page.turns].reverse() : page.turns;
  for (const turn of turns) chat.historyTurn(turn, { prepend: Boolean(before) });
  oldestTurn = page.next_before;
  $("load-more").hidden = !oldestTurn;
  return turns.length;
}

const STATUS_LABELS = {
  reconnecting: "reconnecting", refused: "refused", forbidden: "forbidden", stalled: "stalled",
};

function onSocketStatus(status, reason) {
  if (status === "unauthorized") { sessionEnded(reason || t("sessionEnded")); return; }
  const label = $("connection");
  const previous = label.dataset.status;
  label.dataset.status = status;
  label.dataset.i18n = STATUS_LABELS[status] ?? "connected"; // relabelled on a language switch
  label.textContent = t(label.dataset.i18n);
  if (status === "reconnecting") notify(t("reconnecting"), 0);
  if (status === "stalled") notify(t("stalledNotice"), 0);
  if (status === "reconnected") notify(t("reconnected"));
  if (status === "refused") notify(reason || t("tooManySockets"), 0);
  if (status === "forbidden") notify(reason || t("forbiddenSocket"), 0);
  if (status === "connected" && previous === "refused") $("notice").hidden = true;
}

// The server closed the socket with 4401 (logged out elsewhere, or the session expired).
function sessionEnded(message) {
  socket = null;
  $("notice").hidden = true;
  $("messages").replaceChildren();
  apiKeys.clear();
  repos.clear();
  conversations.clear();
  showAuth();
  $("auth-error").textContent = message;
}

function onSocketMessage(message) {
  if (message.type === "pong") return;
  if (message.status === "progress") documents.progress(message);
  else if (message.status === "document") {
    documents.state(message.document);
    if (message.document?.state === "ready") codeLanguage.refresh(); // its languages count now
  }
  else if (message.status === "doc_summary") {
    docSummaries.handle(message);
    if (message.phase === "done" && message.conversation_id) conversations.saved(message.conversation_id);
  }
  else if (message.request_id) {
    chat.handle(message);
    if (message.status === "completed" && message.conversation_id) conversations.saved(message.conversation_id);
    if (message.error?.code === "unknown_conversation") conversations.refresh();
  }
  else if (message.status === "error") notify(message.error.message);
}

// The chat shows one conversation: its history, then what is asked in it.
async function showConversation(id) {
  chat.reset(); // answers still streaming for the previous one stay out of this view
  docSummaries.reset();
  $("messages").replaceChildren();
  oldestTurn = null;
  $("load-more").hidden = true;
  const shown = await loadHistory().catch((error) => { notify(error.message); return 0; });
  if (id !== conversations.current) return;
  if (shown) chat.restored();
  else { chat.greeting($("who").textContent); welcome.show(); }
}

async function showMain(username) {
  $("auth").hidden = true;
  $("main").hidden = false;
  $("who").textContent = username;
  fillModes();
  await codeLanguage.refresh();
  welcome.describe();
  phaseReset(); // a new session: nothing of an earlier one is still answering
  await conversations.open(username);
  await showConversation(conversations.current);
  await documents.refresh();
  apiKeys.clear();
  await apiKeys.refresh();
  await repos.refresh();
  socket = new ChatSocket({ onMessage: onSocketMessage, onStatus: onSocketStatus });
  socket.connect();
  $("input").focus();
}

function showAuth() {
  $("main").hidden = true;
  $("auth").hidden = false;
  $("auth-username").focus();
}

async function authenticate(action) {
  const username = $("auth-username").value.trim();
  const password = $("auth-password").value;
  $("auth-error").textContent = "";
  try {
    const me = await (action === "signup" ? api.signup(username, password) : api.login(username, password));
    await showMain(me.username);
  } catch (error) {
    $("auth-error").textContent = error.message;
  }
}

// Every request names the conversation shown (none yet: the server starts one).
function inConversation() {
  return conversations.current ? { conversation_id: conversations.current } : {};
}

function send() {
  const input = $("input");
  const body = input.value.trim();
  if (commands.run(body)) { input.value = ""; return; } // "/clear", "/refs off", "/models" …
  if (!body || !socket || answering()) return; // one answer at a time (phase.js)
  const mode = $("mode-select").value;
  chat.userBubble(body, mode);
  const requestId = socket.request(mode, body, { ...inConversation(), ...codeLanguage.extra(mode) });
  chat.assistantBubble(requestId, mode, { question: body });
  input.value = "";
}

// "계속" under an answer cut at its budget: the same question, with the answer so far to go on
// from; the continuation streams into a bubble of its own (the history keeps it as a turn).
function continueAnswer({ mode, question, soFar }) {
  if (!socket) return;
  chat.userBubble(t("continue"), mode);
  const requestId = socket.request(mode, question, { ...inConversation(), ...codeLanguage.extra(mode), continue_from: soFar });
  chat.assistantBubble(requestId, mode, { question, soFar });
}

// "다시 생성" / "편집": ask again in the shown conversation, in place of the turn shown last
// (`turnId`; the server refuses when another turn came after it meanwhile).
function resendLast({ mode, question, turnId }) {
  if (!socket || answering() || turnId == null) return null;
  return socket.request(mode, question, { ...inConversation(), ...codeLanguage.extra(mode), replace_turn_id: turnId });
}

async function forgetMemory() {
  if (await conversations.forget()) chat.forgotten();
}

function bind() {
  $("auth-form").addEventListener("submit", (event) => { event.preventDefault(); authenticate("login"); });
  $("signup-button").addEventListener("click", () => authenticate("signup"));
  for (const button of document.querySelectorAll(".lang-toggle")) {
    button.addEventListener("click", () => { toggleLanguage(); fillModes(); chat.relabel(); conversations.render(); });
  }
  $("mode-select").addEventListener("change", (event) => localStorage.setItem("ragcode.mode", event.target.value));
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); send(); });
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });
  $("load-more").addEventListener("click", () => loadHistory(oldestTurn));
  $("logout").addEventListener("click", async () => {
    if (socket) socket.close(); // first: the server's 4401 for this logout is no news
    socket = null;
    apiKeys.clear(); // the key shown once must not outlive the session on this tab
    models.clear();
    repos.clear();
    conversations.clear();
    $("messages").replaceChildren();
    await api.logout().catch(() => {});
    showAuth();
  });
  $("clear-history").addEventListener("click", async () => {
    if (!confirm(t("confirmClear"))) return;
    await api.clearHistory();
    conversations.current = null;
    conversations.remember();
    await conversations.refresh();
    await showConversation(null);
  });
  $("new-conversation").addEventListener("click", () => conversations.create());
  $("forget-memory").addEventListener("click", forgetMemory);
}

async function start() {
  applyTranslations();
  bind();
  try {
    const me = await api.me();
    await showMain(me.username);
  } catch {
    showAuth();
  }
}

start();
