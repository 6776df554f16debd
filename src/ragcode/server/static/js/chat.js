// The conversation: user and assistant bubbles, streaming text, references with a code viewer.
import { t, modeLabel } from "./i18n.js";
import { codeBlock, copyButton, el, renderMarkdown } from "./render.js";

export class ChatView {
  constructor(container) {
    this.container = container;
    this.bubbles = new Map(); // request_id -> { body, text, wrapper }
  }

  scroll() { this.container.scrollTop = this.container.scrollHeight; }

  userBubble(text, mode, { prepend = false } = {}) {
    const wrapper = el("div", "message user");
    wrapper.append(el("div", "meta", `${t("you")} · ${modeLabel(mode)}`));
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

  assistantBubble(requestId, mode) {
    const wrapper = el("div", "message assistant");
    wrapper.dataset.requestId = requestId;
    wrapper.append(el("div", "meta", `${t("assistant")} · ${modeLabel(mode)}`));
    const body = el("div", "bubble typing");
    body.append(el("span", "dots", "…"));
    wrapper.append(body);
    this.container.append(wrapper);
    this.bubbles.set(requestId, { wrapper, body, text: "" });
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
      this.bubbles.delete(message.request_id);
    } else if (message.status === "error") {
      entry.body.classList.remove("typing");
      entry.body.classList.add("failed");
      entry.body.replaceChildren(el("strong", null, `${t("error")}: `), document.createTextNode(message.error?.message ?? ""));
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

  historyTurn(turn, { prepend = false } = {}) {
    const wrapper = el("div", "message assistant");
    wrapper.append(el("div", "meta", `${t("assistant")} · ${modeLabel(turn.mode)}`));
    const body = el("div", "bubble");
    wrapper.append(body);
    const entry = { wrapper, body, text: "" };
    this.finish(entry, turn.answer, turn.references);
    const user = this.userBubble(turn.question, turn.mode, { prepend });
    if (prepend) user.after(wrapper); else this.place(wrapper, false);
  }

  system(node) { this.container.append(node); this.scroll(); }
}

function describe(ref) {
  if (ref.kind === "timestamp") return { title: `${ref.text} → ${ref.iso}` };
  const path = ref.path ?? ref.source ?? "";
  const start = ref.start_line ?? ref.start;
  const end = ref.end_line ?? ref.end;
  const where = start ? `${path}:${start}-${end}` : path;
  return {
    title: `${ref.name ?? ref.title ?? ""} — ${where}`,
    code: ref.code ?? ref.text,
    language: ref.language ?? ref.format ?? "",
    summary: ref.summary,
    startLine: start,
  };
}

function referenceList(references) {
  const box = el("div", "references");
  box.append(el("div", "references-title", t("references")));
  const list = el("ol");
  references.forEach((ref) => {
    const info = describe(ref);
    const item = el("li", "reference");
    if (!info.code) { item.textContent = info.title; list.append(item); return; }
    const toggle = el("button", "reference-toggle link", info.title);
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    const viewer = el("div", "reference-viewer");
    viewer.hidden = true;
    toggle.addEventListener("click", () => {
      if (!viewer.childElementCount) {
        if (info.summary) viewer.append(el("p", "summary", info.summary));
        viewer.append(codeBlock(info.code, info.language, { startLine: info.startLine }));
      }
      viewer.hidden = !viewer.hidden;
      toggle.setAttribute("aria-expanded", String(!viewer.hidden));
    });
    item.append(toggle, viewer);
    list.append(item);
  });
  box.append(list);
  return box;
}
