// The conversation: user and assistant bubbles (who, mode and local time), streaming text,
// references with a code viewer, a greeting for a first login, a marker where a restored
// history ends, and under an answer cut at its mode's token budget a notice with "계속".
// While an answer streams its bubble has "중지" (the server stops the model and keeps the text
// so far, shown "중지됨"). The last turn shown offers "다시 생성" under its answer and "편집"
// on its question: both ask again with `replace_turn_id` (that turn's stored id), so the new
// answer takes that turn's place in the history; the server refuses (`conflict`) when another
// turn came after it meanwhile. A continuation turn (asked with "계속") and a document summary
// offer neither.
import { formatTime, t, modeLabel } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";
import { phaseBegin, phaseFrame } from "./phase.js"; // issue 15.16: phase label (phase.js)
import { referenceList } from "./references.js";
import { linkCitations } from "./citations.js";
import { copyButton, el, label } from "./render.js";

// The sender, the mode and a <time> (re-labelled when the language changes).
function meta(who, mode, when) {
  const line = el("div", "meta", `${t(who)} · ${modeLabel(mode)}`);
  line.dataset.who = who;
  line.dataset.mode = mode;
  if (when) line.append(" · ", timeTag(when));
  return line;
}

function timeTag(when) {
  const node = el("time", "msg-time", formatTime(when));
  node.dateTime = when.toISOString();
  return node;
}

// A stored turn's time: ISO 8601 in UTC (one without an offset is read as UTC too).
function parseTime(value) {
  if (!value) return null;
  const text = /(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

const CONTINUE_TAIL = 4000; // characters of the cut answer sent back to be continued

export class ChatView {
  // `onContinue(entry)`: "계속" under a cut answer; entry: { mode, question, soFar }.
  // `onStop(requestId)`: "중지" on a streaming answer. `onResend({ mode, question, turnId })`:
  // ask again in place of the stored turn `turnId` (regenerate, edit); returns the new request
  // id or null.
  constructor(container, { onContinue, onStop, onResend } = {}) {
    this.container = container;
    this.onContinue = onContinue;
    this.onStop = onStop;
    this.onResend = onResend;
    this.bubbles = new Map(); // request_id -> { body, text, wrapper, mode, question, soFar }
    this.lastUser = null; // the last question's bubble drawn at the end of the view
    this.last = null; // the last turn, when it offers regenerate/edit
  }

  scroll() { this.container.scrollTop = this.container.scrollHeight; }

  // Another conversation is shown: answers still coming for this one are not drawn into it.
  reset() { this.bubbles.clear(); this.lastUser = null; this.dropLastActions(); }

  // "기억 지우기" done: a marker where memory starts afresh (the history above stays).
  forgotten() {
    const marker = el("div", "marker forgotten");
    marker.append(el("span", "forgotten-text", t("forgotten")), " · ", timeTag(new Date()));
    this.place(marker, false);
  }

  userBubble(text, mode, { prepend = false, time = new Date() } = {}) {
    const wrapper = el("div", "message user");
    wrapper.append(meta("you", mode, time));
    const body = el("div", "bubble");
    body.textContent = text;
    wrapper.append(body);
    this.place(wrapper, prepend);
    if (!prepend) this.lastUser = wrapper;
    return wrapper;
  }

  place(node, prepend) {
    if (prepend) this.container.prepend(node);
    else { this.container.append(node); this.scroll(); }
  }

  // `question`: what was asked (sent again with "계속"); `soFar`: the answer this one continues.
  // `after`: the node the bubble goes after (a regenerated answer: its question); else the end.
  assistantBubble(requestId, mode, { question = "", soFar = "", after = null } = {}) {
    this.dropLastActions(); // a new answer: the turn before is no longer the last
    const wrapper = el("div", "message assistant");
    wrapper.dataset.requestId = requestId;
    const line = meta("assistant", mode, null);
    wrapper.append(line);
    const body = el("div", "bubble typing");
    body.append(el("span", "dots", "…"));
    const stop = label("button", "stop-answer", "stop");
    stop.type = "button";
    stop.addEventListener("click", () => {
      stop.disabled = true;
      this.onStop?.(requestId);
    });
    wrapper.append(body, stop);
    if (after) after.after(wrapper); else this.container.append(wrapper);
    const user = after ?? this.lastUser;
    this.bubbles.set(requestId, { wrapper, body, line, stop, user, text: "", mode, question, soFar });
    phaseBegin(requestId, mode); // issue 15.16: 검색 중 / 생성 중 label, send disabled
    this.scroll();
  }

  handle(message) {
    phaseFrame(message); // issue 15.16: before the bubble check (another conversation's answer)
    const entry = this.bubbles.get(message.request_id);
    if (!entry) return;
    if (message.status === "istyping") {
      entry.text = ""; // a resent request starts over
      entry.body.replaceChildren(el("span", "dots", "…"));
      entry.body.classList.add("typing");
    } else if (message.status === "proceeding") {
      if (entry.body.classList.contains("typing")) {
        entry.body.classList.remove("typing");
        entry.body.replaceChildren(el("span", "stream"));
      }
      entry.text += message.delta;
      entry.body.firstChild.textContent = entry.text;
      this.scroll();
    } else if (message.status === "completed") {
      entry.stop.remove();
      this.finish(entry, message.msg ?? entry.text, message.references, message.sentences);
      entry.line.append(" · ", timeTag(new Date()));
      if (message.stopped) this.stopped(entry);
      if (message.truncated) this.truncated(entry, message.msg);
      this.bubbles.delete(message.request_id);
      if (!entry.soFar) {
        this.offerActions(entry.user, entry.wrapper, entry.mode, entry.question, message.turn_id);
      }
    } else if (message.status === "error") {
      entry.stop.remove();
      entry.body.classList.remove("typing");
      entry.body.classList.add("failed");
      entry.body.replaceChildren(el("strong", null, `${t("error")}: `), document.createTextNode(message.error?.message ?? ""));
      entry.line.append(" · ", timeTag(new Date()));
      this.bubbles.delete(message.request_id);
    }
  }

  finish(entry, text, references, sentences) {
    entry.body.classList.remove("typing");
    entry.body.replaceChildren(renderMarkdown(text));
    const tools = el("div", "tools");
    tools.append(copyButton(() => text));
    entry.wrapper.append(tools);
    if (references?.length) {
      const list = referenceList(references);
      entry.wrapper.append(list);
      linkCitations(entry.body, list, references, { text, sentences }); // [n] -> its card
    }
    this.scroll();
  }

  // The answer was stopped by the user: it ends where it was stopped.
  stopped(entry) {
    entry.wrapper.classList.add("stopped");
    entry.line.append(" · ", label("span", "stopped-label", "stoppedLabel"));
  }

  // The last turn offers "다시 생성" under its answer and "편집" on its question; only a turn
  // the history kept (`turnId`: an answer stopped while the socket was down was not).
  offerActions(user, wrapper, mode, question, turnId) {
    this.dropLastActions();
    if (!this.onResend || turnId == null || !user?.isConnected || !wrapper.isConnected) return;
    const regenerate = label("button", "regenerate link", "regenerate");
    regenerate.type = "button";
    regenerate.addEventListener("click", () => this.resend(question));
    const edit = label("button", "edit-question link", "edit");
    edit.type = "button";
    edit.addEventListener("click", () => this.editQuestion());
    (wrapper.querySelector(".tools") ?? wrapper).append(regenerate);
    user.append(edit);
    this.last = { user, wrapper, mode, question, turnId, buttons: [regenerate, edit] };
  }

  dropLastActions() {
    const last = this.last;
    this.last = null;
    if (!last) return;
    for (const button of last.buttons) button.remove();
    last.user.querySelector(".edit-form")?.remove();
    last.user.querySelector(".bubble").hidden = false;
  }

  // Ask `question` again in place of the last turn: its answer gives way to the new one.
  resend(question) {
    const last = this.last;
    if (!last) return;
    const requestId = this.onResend({ mode: last.mode, question, turnId: last.turnId });
    if (!requestId) return;
    last.user.querySelector(".bubble").textContent = question;
    last.wrapper.remove();
    this.assistantBubble(requestId, last.mode, { question, after: last.user });
  }

  // The last question becomes editable in place; "보내기" asks the edited one instead.
  editQuestion() {
    const last = this.last;
    if (!last || last.user.querySelector(".edit-form")) return;
    const body = last.user.querySelector(".bubble");
    const form = el("form", "edit-form");
    const area = el("textarea", "edit-input");
    area.value = last.question;
    area.rows = Math.min(8, Math.max(2, last.question.split("\n").length));
    const save = label("button", "edit-send", "editSend");
    save.type = "submit";
    const cancel = label("button", "edit-cancel secondary", "cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => { form.remove(); body.hidden = false; });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const edited = area.value.trim();
      if (edited) this.resend(edited);
    });
    form.append(area, save, cancel);
    body.hidden = true;
    body.after(form);
    area.focus();
  }

  // The notice under an answer that stopped at its budget, and "계속" to go on from its end.
  truncated(entry, text) {
    const notice = el("div", "truncated");
    notice.append(el("span", null, t("truncated")));
    const button = el("button", "continue", t("continue"));
    button.type = "button";
    button.addEventListener("click", () => {
      button.disabled = true;
      const soFar = (entry.soFar + text).slice(-CONTINUE_TAIL);
      this.onContinue?.({ mode: entry.mode, question: entry.question, soFar });
    });
    notice.append(button);
    entry.wrapper.append(notice);
    this.scroll();
  }

  historyTurn(turn, { prepend = false } = {}) {
    const time = parseTime(turn.time);
    const wrapper = el("div", "message assistant");
    wrapper.append(meta("assistant", turn.mode, time));
    const body = el("div", "bubble");
    wrapper.append(body);
    const entry = { wrapper, body, text: "", line: wrapper.firstChild };
    this.finish(entry, turn.answer, turn.references, turn.sentences);
    if (turn.stopped) this.stopped(entry);
    const user = this.userBubble(turn.question, turn.mode, { prepend, time });
    if (prepend) user.after(wrapper); else this.place(wrapper, false);
    // A document summary (server/doc_summaries.py) is no question of the user's to ask again.
    const summary = String(turn.request_id ?? "").startsWith("doc-summary:");
    if (!prepend && !summary) this.offerActions(user, wrapper, turn.mode, turn.question, turn.id);
    else if (!prepend) this.dropLastActions();
  }

  // First login (no history yet): ragcode says hello.
  greeting(username) {
    const wrapper = el("div", "message greeting");
    const line = el("div", "meta", t("assistant"));
    line.append(" · ", timeTag(new Date()));
    const body = el("div", "bubble");
    body.dataset.i18nName = username;
    body.textContent = t("greeting").replace("{name}", username);
    wrapper.append(line, body);
    this.place(wrapper, false);
  }

  // Where the restored history ends and this visit's conversation starts.
  restored() {
    const marker = el("div", "marker");
    marker.append(el("span", "marker-text", t("restored")), " · ", timeTag(new Date()));
    this.place(marker, false);
  }

  // The language changed: times and the labels written by this view follow it.
  relabel() {
    for (const node of this.container.querySelectorAll("time.msg-time")) {
      node.textContent = formatTime(new Date(node.dateTime));
    }
    for (const line of this.container.querySelectorAll(".meta[data-who]")) {
      line.firstChild.textContent = `${t(line.dataset.who)} · ${modeLabel(line.dataset.mode)}`;
    }
    for (const body of this.container.querySelectorAll(".greeting .bubble")) {
      body.textContent = t("greeting").replace("{name}", body.dataset.i18nName);
    }
    for (const node of this.container.querySelectorAll(".marker-text")) node.textContent = t("restored");
    for (const node of this.container.querySelectorAll(".forgotten-text")) node.textContent = t("forgotten");
    for (const node of this.container.querySelectorAll(".truncated > span")) node.textContent = t("truncated");
    for (const node of this.container.querySelectorAll(".truncated .continue")) node.textContent = t("continue");
  }

  system(node) { this.container.append(node); this.scroll(); }
}
