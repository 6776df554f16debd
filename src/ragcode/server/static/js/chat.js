// The conversation: user and assistant bubbles (who, mode and local time), streaming text,
// references with a code viewer, a greeting for a first login, a marker where a restored
// history ends, and under an answer cut at its mode's token budget a notice with "계속".
import { formatTime, t, modeLabel } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";
import { referenceList } from "./references.js";
import { copyButton, el } from "./render.js";

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
  constructor(container, { onContinue } = {}) {
    this.container = container;
    this.onContinue = onContinue;
    this.bubbles = new Map(); // request_id -> { body, text, wrapper, mode, question, soFar }
  }

  scroll() { this.container.scrollTop = this.container.scrollHeight; }

  // Another conversation is shown: answers still coming for this one are not drawn into it.
  reset() { this.bubbles.clear(); }

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
    return wrapper;
  }

  place(node, prepend) {
    if (prepend) this.container.prepend(node);
    else { this.container.append(node); this.scroll(); }
  }

  // `question`: what was asked (sent again with "계속"); `soFar`: the answer this one continues.
  assistantBubble(requestId, mode, { question = "", soFar = "" } = {}) {
    const wrapper = el("div", "message assistant");
    wrapper.dataset.requestId = requestId;
    const line = meta("assistant", mode, null);
    wrapper.append(line);
    const body = el("div", "bubble typing");
    body.append(el("span", "dots", "…"));
    wrapper.append(body);
    this.container.append(wrapper);
    this.bubbles.set(requestId, { wrapper, body, line, text: "", mode, question, soFar });
    this.scroll();
  }

  handle(message) {
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
      this.finish(entry, message.msg, message.references);
      entry.line.append(" · ", timeTag(new Date()));
      if (message.truncated) this.truncated(entry, message.msg);
      this.bubbles.delete(message.request_id);
    } else if (message.status === "error") {
      entry.body.classList.remove("typing");
      entry.body.classList.add("failed");
      entry.body.replaceChildren(el("strong", null, `${t("error")}: `), document.createTextNode(message.error?.message ?? ""));
      entry.line.append(" · ", timeTag(new Date()));
      this.bubbles.delete(message.request_id);
    }
  }

  finish(entry, text, references) {
    entry.body.classList.remove("typing");
    entry.body.replaceChildren(renderMarkdown(text));
    const tools = el("div", "tools");
    tools.append(copyButton(() => text));
    entry.wrapper.append(tools);
    if (references?.length) entry.wrapper.append(referenceList(references));
    this.scroll();
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
    const entry = { wrapper, body, text: "" };
    this.finish(entry, turn.answer, turn.references);
    const user = this.userBubble(turn.question, turn.mode, { prepend, time });
    if (prepend) user.after(wrapper); else this.place(wrapper, false);
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
