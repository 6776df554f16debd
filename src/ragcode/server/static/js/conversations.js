// The user's conversations in the sidebar (GET /api/conversations, most recent first): new,
// switch, rename, delete (after a confirm) and "forget" for the selected one. Titles come
// from users and first questions: written with textContent only. The selection is kept per
// user in localStorage, so a reload comes back to the same conversation.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { el } from "./render.js";

const PAGE = 50;

export class Conversations {
  // `onSelect(id | null)`: the conversation shown changed (null: the user has none yet).
  constructor({ list, more, notify, onSelect }) {
    this.list = list;
    this.more = more;
    this.notify = notify;
    this.onSelect = onSelect;
    this.user = null;
    this.current = null;
    this.items = [];
    this.next = null;
    more.addEventListener("click", () => this.load(this.next));
  }

  key() { return `ragcode.conversation.${this.user}`; }

  // After login: the list, and the conversation of the last visit (else the most recent).
  async open(user) {
    this.user = user;
    this.items = [];
    await this.load(null);
    const saved = Number(localStorage.getItem(this.key()));
    const found = this.items.find((c) => c.id === saved) ?? this.items[0] ?? null;
    this.current = found ? found.id : null;
    this.remember();
    this.render();
    return this.current;
  }

  clear() {
    this.user = null;
    this.current = null;
    this.items = [];
    this.list.replaceChildren();
    this.more.hidden = true;
  }

  // One page, appended (`before`: the last conversation of the page shown).
  async load(before) {
    let page;
    try {
      page = await api.conversations(PAGE, before);
    } catch (error) {
      this.notify(error.message);
      return;
    }
    if (!before) this.items = [];
    const known = new Set(this.items.map((c) => c.id));
    this.items.push(...page.conversations.filter((c) => !known.has(c.id)));
    this.next = page.next_before;
    this.render();
  }

  async refresh() { await this.load(null); }

  remember() {
    if (this.current) localStorage.setItem(this.key(), String(this.current));
    else localStorage.removeItem(this.key());
  }

  select(id) {
    if (id === this.current) return;
    this.current = id;
    this.remember();
    this.render();
    this.onSelect(id);
  }

  // A turn was saved (maybe in a conversation made for it): its place and count change.
  async saved(id) {
    if (!this.current) { this.current = id; this.remember(); }
    await this.refresh();
  }

  async create() {
    try {
      const made = await api.createConversation();
      this.items.unshift(made);
      this.select(made.id);
    } catch (error) {
      this.notify(error.message, 8000);
    }
  }

  async rename(conversation) {
    const title = prompt(t("renamePrompt"), conversation.title ?? "");
    if (title === null || !title.trim()) return;
    try {
      const renamed = await api.renameConversation(conversation.id, title);
      Object.assign(conversation, renamed);
      this.render();
    } catch (error) {
      this.notify(error.message);
    }
  }

  async remove(conversation) {
    if (!confirm(t("confirmDeleteConversation").replace("{title}", this.title(conversation)))) return;
    try {
      await api.deleteConversation(conversation.id);
    } catch (error) {
      this.notify(error.message);
    }
    this.items = this.items.filter((c) => c.id !== conversation.id);
    if (conversation.id === this.current) {
      this.current = null; // the next most recent one, or none until the next question
      this.select(this.items[0]?.id ?? null);
      if (!this.current) this.onSelect(null);
    }
    this.render();
  }

  // "기억 지우기": memory starts afresh; the history stays on screen.
  async forget() {
    if (!this.current) return false;
    try {
      const forgotten = await api.forgetConversation(this.current);
      const item = this.items.find((c) => c.id === forgotten.id);
      if (item) Object.assign(item, forgotten);
      return true;
    } catch (error) {
      this.notify(error.message);
      return false;
    }
  }

  title(conversation) { return conversation.title || t("untitled"); }

  render() {
    this.list.replaceChildren();
    if (!this.items.length) this.list.append(el("li", "muted small", t("noConversations")));
    for (const conversation of this.items) this.list.append(this.row(conversation));
    this.more.hidden = !this.next;
  }

  row(conversation) {
    const item = el("li", "conversation");
    item.dataset.conversation = String(conversation.id);
    if (conversation.id === this.current) item.classList.add("current");
    const open = el("button", "link conversation-title", this.title(conversation));
    open.type = "button";
    open.title = this.title(conversation);
    open.addEventListener("click", () => this.select(conversation.id));
    const count = el("span", "muted small conversation-turns", `${conversation.turns}`);
    const rename = el("button", "link small conversation-rename", t("rename"));
    rename.type = "button";
    rename.addEventListener("click", () => this.rename(conversation));
    const remove = el("button", "link small danger conversation-delete", t("delete"));
    remove.type = "button";
    remove.addEventListener("click", () => this.remove(conversation));
    item.append(open, count, rename, remove);
    return item;
  }
}
