// Uploads and the documents panel: upload progress and each unit's summary as it completes.
// A code upload is searchable once indexed ("summarizing"); its card counts the summaries
// and shows the time they still take.
import { api } from "./api.js";
import { remainingText } from "./eta.js";
import { lang, t } from "./i18n.js";
import { el } from "./render.js";

export class Documents {
  constructor({ list, input, chat, notify }) {
    this.list = list;
    this.chat = chat;
    this.notify = notify;
    this.cards = new Map(); // document id -> progress card
    input.addEventListener("change", async () => {
      for (const file of input.files) await this.upload(file);
      input.value = "";
    });
  }

  async refresh() {
    const { documents } = await api.documents();
    this.list.replaceChildren();
    if (!documents.length) this.list.append(el("li", "muted small", t("noDocuments")));
    for (const doc of documents) this.list.append(this.row(doc));
  }

  row(doc) {
    const item = el("li", "document");
    item.dataset.documentId = doc.id;
    item.append(el("span", "document-name", doc.name));
    const state = `${t(doc.state)}${doc.units ? ` · ${doc.units} ${t("units")}` : ""}`;
    item.append(el("span", `document-state state-${doc.state}`, state));
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
      const title = el("div", "upload-title", name);
      const bar = el("progress");
      bar.max = 1; bar.value = 0;
      const status = el("div", "upload-status small muted", t("uploading"));
      const units = el("ul", "unit-summaries");
      node.append(title, bar, status, units);
      this.chat.system(node);
      card = { node, bar, status, units, name };
      this.cards.set(id, card);
    }
    return card;
  }

  async upload(file) {
    const placeholder = this.card(`pending:${file.name}`, file.name);
    try {
      const doc = await api.upload(file);
      this.cards.delete(`pending:${file.name}`);
      this.cards.set(doc.id, placeholder);
      placeholder.node.dataset.documentId = doc.id;
      placeholder.status.textContent = t(doc.state);
    } catch (error) {
      placeholder.status.textContent = `${t("failed")}: ${error.message}`;
      placeholder.node.classList.add("failed");
    }
    await this.refresh();
  }

  progress(message) {
    const card = this.card(message.document_id, "");
    card.bar.max = Math.max(1, message.total);
    card.bar.value = message.done;
    // Searchable already; the estimate comes from the measured summary rate (none yet: said so).
    const left = message.done < message.total ? ` · ${remainingText(message.remaining_s, lang())}` : "";
    card.status.textContent = `${t("summarizing")} ${message.done}/${message.total}${left}`;
    if (message.unit) {
      const item = el("li", "unit-summary");
      const unit = message.unit;
      item.append(el("code", null, `${unit.name}`), el("span", "muted small", ` ${unit.path}:${unit.start_line} `));
      item.append(el("span", "summary-text", message.summary ?? t("summaryFailed")));
      card.units.append(item);
      this.chat.scroll();
    }
  }

  state(doc) {
    const card = this.cards.get(doc.id);
    if (card) {
      card.status.textContent = `${t(doc.state)}${doc.units ? ` · ${doc.units} ${t("units")}` : ""}${doc.error ? ` · ${doc.error}` : ""}`;
      if (doc.state === "ready") card.bar.value = card.bar.max;
    }
    this.refresh();
  }
}
