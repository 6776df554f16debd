// A document upload's summary, drawn into the chat as the server writes it
// (server/doc_summaries.py, `doc_summary` messages): the parts of a long document first (in a
// collapsed list), then the overall summary streaming, then the whole summary as Markdown,
// which history keeps as a turn of the conversation.
import { t } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";
import { copyButton, el, label } from "./render.js";

export class DocumentSummaries {
  // `chat`: the ChatView whose container and scrolling are used.
  constructor(chat) {
    this.chat = chat;
    this.entries = new Map(); // "<document id>/<file>" -> { wrapper, body, parts, list, text }
  }

  reset() { this.entries.clear(); }

  handle(message) {
    const key = `${message.document_id}/${message.file}`;
    let entry = this.entries.get(key);
    if (!entry) {
      if (message.phase === "failed") return; // nothing drawn for it: nothing to say
      entry = this.open(message);
      this.entries.set(key, entry);
    }
    if (message.phase === "part") {
      entry.parts.hidden = false;
      entry.list.append(el("li", null, message.text));
      entry.count.textContent = ` (${entry.list.children.length})`;
    } else if (message.phase === "delta") {
      if (entry.body.classList.contains("typing")) {
        entry.body.classList.remove("typing");
        entry.body.replaceChildren(el("span", "stream"));
      }
      entry.text += message.text;
      entry.body.firstChild.textContent = entry.text;
    } else if (message.phase === "done") {
      entry.body.classList.remove("typing");
      entry.body.replaceChildren(renderMarkdown(message.text));
      const tools = el("div", "tools");
      tools.append(copyButton(() => message.text));
      entry.wrapper.append(tools);
      entry.parts.remove(); // the whole summary lists the parts itself
      this.entries.delete(key);
    } else if (message.phase === "failed") {
      entry.body.classList.remove("typing");
      entry.body.classList.add("failed");
      entry.body.textContent = message.text;
      this.entries.delete(key);
    }
    this.chat.scroll();
  }

  open(message) {
    const wrapper = el("div", "message assistant doc-summary");
    wrapper.dataset.document = message.document_id;
    wrapper.dataset.file = message.file;
    wrapper.append(el("div", "meta", `${t("assistant")} · ${message.title}`));
    const parts = el("details", "summary-parts");
    parts.hidden = true;
    const heading = el("summary");
    const count = el("span", "count");
    heading.append(label("span", null, "docSummaryParts"), count);
    const list = el("ol");
    parts.append(heading, list);
    const body = el("div", "bubble typing");
    body.append(el("span", "dots", "…"));
    wrapper.append(parts, body);
    // The server keeps the summary as a turn after the one shown last: that one can no
    // longer be asked again in its place (the server would refuse it as a conflict).
    this.chat.dropLastActions();
    this.chat.place(wrapper, false);
    return { wrapper, body, parts, list, count, text: "" };
  }
}
