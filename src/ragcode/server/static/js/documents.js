// Uploads and the documents panel. A code upload is searchable once indexed ("summarizing");
// its card stays compact while the summaries come in: the bar, the units settled of all the
// upload's units (the same count as the sidebar row), the time left from the measured rate,
// and each unit's summary in a list that is collapsed until opened.
import { api } from "./api.js";
import { remainingText } from "./eta.js";
import { lang, onLanguageChange, t } from "./i18n.js";
import { el, label } from "./render.js";

// "검색 가능 · 요약 중 · 40/69" while summaries come in, else "완료 · 69 단위": the sidebar and
// the card say the same; the card adds the time left (`eta`).
export function statusText(doc, progress, { eta = false } = {}) {
  if (doc.state === "summarizing" && progress) {
    const left = eta && progress.done < progress.total ? ` · ${remainingText(progress.remaining_s, lang())}` : "";
    return `${t("summarizing")} · ${progress.done}/${progress.total}${left}`;
  }
  const units = doc.units ? ` · ${doc.units} ${t("units")}` : "";
  return `${t(doc.state)}${units}${doc.error ? ` · ${doc.error}` : ""}`;
}

export class Documents {
  constructor({ list, input, chat, notify }) {
    this.list = list;
    this.chat = chat;
    this.notify = notify;
    this.docs = []; // the last list the server sent (redrawn on a language switch)
    this.progressOf = new Map(); // document id -> the latest progress message
    this.cards = new Map(); // document id -> progress card
    input.addEventListener("change", async () => {
      for (const file of input.files) await this.upload(file);
      input.value = "";
    });
    onLanguageChange(() => this.redraw());
  }

  async refresh() {
    const { documents } = await api.documents();
    this.docs = documents;
    this.drawList();
  }

  drawList() {
    this.list.replaceChildren();
    if (!this.docs.length) this.list.append(label("li", "muted small", "noDocuments"));
    for (const doc of this.docs) this.list.append(this.row(doc));
  }

  redraw() {
    this.drawList();
    for (const card of this.cards.values()) this.drawStatus(card);
  }

  row(doc) {
    const item = el("li", "document");
    item.dataset.documentId = doc.id;
    item.append(el("span", "document-name", doc.name));
    item.append(el("span", `document-state state-${doc.state}`, statusText(doc, this.progressOf.get(doc.id))));
    // Private by default: only the owner sees an upload until they share it with the team.
    const visibility = doc.mine ? t(doc.shared ? "shared" : "private") : t("sharedBy");
    item.append(el("span", `document-visibility small muted ${doc.shared ? "is-shared" : "is-private"}`, visibility));
    if (doc.mine) {
      const share = el("button", "link document-share", t(doc.shared ? "unshare" : "share"));
      share.type = "button";
      share.addEventListener("click", async () => {
        await api.shareDocument(doc.id, !doc.shared).catch((error) => this.notify(error.message));
        await this.refresh();
      });
      item.append(share);
    }
    if (doc.mine || doc.shared) {
      const remove = el("button", "link danger", t("delete"));
      remove.type = "button";
      remove.addEventListener("click", async () => {
        await api.deleteDocument(doc.id).catch((error) => this.notify(error.message));
        await this.refresh();
      });
      item.append(remove);
    }
    return item;
  }

  card(id, name) {
    let card = this.cards.get(id);
    if (!card) {
      const node = el("div", "message system upload-card");
      node.dataset.documentId = id;
      const title = el("div", "upload-title", name || this.docs.find((doc) => doc.id === id)?.name || "");
      const bar = el("progress");
      bar.max = 1; bar.value = 0;
      const status = el("div", "upload-status small muted");
      // Collapsed: a long upload's summaries would push the bar out of sight.
      const details = el("details", "unit-details");
      details.hidden = true;
      const toggle = el("summary", "unit-toggle small");
      const units = el("ul", "unit-summaries");
      details.append(toggle, units);
      node.append(title, bar, status, details);
      this.chat.system(node);
      card = { node, title, bar, status, details, toggle, units, doc: { state: "uploading" } };
      this.cards.set(id, card);
      this.drawStatus(card);
    }
    return card;
  }

  drawStatus(card) {
    const id = card.node.dataset.documentId;
    card.status.textContent = card.failure
      ? `${t("failed")}: ${card.failure}`
      : statusText(card.doc, this.progressOf.get(id), { eta: true });
    const count = card.units.children.length;
    card.details.hidden = count === 0;
    card.toggle.textContent = `${t("unitSummaries")} (${count})`;
  }

  async upload(file) {
    const placeholder = this.card(`pending:${file.name}`, file.name);
    try {
      const doc = await api.upload(file);
      this.cards.delete(`pending:${file.name}`);
      this.cards.set(doc.id, placeholder);
      placeholder.node.dataset.documentId = doc.id;
      placeholder.doc = doc;
    } catch (error) {
      placeholder.failure = error.message;
      placeholder.node.classList.add("failed");
    }
    this.drawStatus(placeholder);
    await this.refresh();
  }

  progress(message) {
    this.progressOf.set(message.document_id, message);
    const card = this.card(message.document_id, "");
    if (card.doc.state !== "summarizing") card.doc = { ...card.doc, state: "summarizing" };
    card.bar.max = Math.max(1, message.total);
    card.bar.value = message.done;
    if (message.unit) {
      const item = el("li", "unit-summary");
      const unit = message.unit;
      item.append(el("code", null, `${unit.name}`), el("span", "muted small", ` ${unit.path}:${unit.start_line} `));
      item.append(el("span", "summary-text", message.summary ?? t("summaryFailed")));
      card.units.append(item);
    }
    this.drawStatus(card);
    // The sidebar row counts the same units as the card.
    const known = this.docs.find((doc) => doc.id === message.document_id);
    if (known) {
      known.state = "summarizing";
      const row = this.list.querySelector(`li[data-document-id="${CSS.escape(message.document_id)}"]`);
      row?.replaceWith(this.row(known));
    }
  }

  state(doc) {
    if (doc.state !== "summarizing") this.progressOf.delete(doc.id);
    const card = this.cards.get(doc.id);
    if (card) {
      card.doc = doc;
      if (doc.state === "ready") card.bar.value = card.bar.max;
      this.drawStatus(card);
    }
    this.refresh();
  }
}
