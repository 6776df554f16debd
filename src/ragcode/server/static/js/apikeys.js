// API keys of the OpenAI-compatible API (/v1): create (the key is shown this once), list,
// revoke. The list never holds a key, only its id, label and date.
import { api } from "./api.js";
import { lang, t } from "./i18n.js";
import { copyButton, el, label } from "./render.js";

export class ApiKeys {
  constructor({ form, name, list, created, notify }) {
    this.list = list;
    this.created = created;
    this.notify = notify;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const key = await api.createApiKey(name.value.trim());
        name.value = "";
        this.show(key);
      } catch (error) {
        this.notify(error.message);
      }
      await this.refresh();
    });
  }

  // Never rejects: every caller (the form, a revoke, the page start) gets a notice instead.
  async refresh() {
    let keys;
    try {
      ({ keys } = await api.apiKeys());
    } catch (error) {
      this.notify(error.message);
      return;
    }
    this.list.replaceChildren();
    if (!keys.length) this.list.append(label("li", "muted small", "noApiKeys"));
    for (const key of keys) this.list.append(this.row(key));
  }

  // Logout: the next person on this tab must not find the last key made, nor the list.
  clear() {
    this.created.replaceChildren();
    delete this.created.dataset.keyId;
    this.created.hidden = true;
    this.list.replaceChildren();
  }

  row(key) {
    const item = el("li", "apikey");
    item.dataset.keyId = key.id;
    item.append(el("span", "apikey-name", key.name || t("unnamedKey")));
    item.append(el("code", "apikey-id small", key.id));
    item.append(el("span", "small muted", new Date(key.created_at).toLocaleString(lang() === "ko" ? "ko-KR" : "en")));
    const revoke = label("button", "link danger apikey-revoke", "revoke");
    revoke.type = "button";
    revoke.addEventListener("click", async () => {
      if (!confirm(t("confirmRevoke"))) return;
      await api.revokeApiKey(key.id).catch((error) => this.notify(error.message));
      if (this.created.dataset.keyId === key.id) {
        this.created.replaceChildren();
        this.created.hidden = true;
      }
      await this.refresh();
    });
    item.append(revoke);
    return item;
  }

  // The new key and how to use it; gone from the page on the next reload, like from the server.
  show(key) {
    const value = el("code", "apikey-value", key.key);
    const base = `${location.origin}/v1`;
    this.created.dataset.keyId = key.id;
    this.created.replaceChildren(
      el("p", "small", t("keyShownOnce")), value, copyButton(() => key.key),
      el("p", "small muted", `${t("baseUrl")}: ${base}`),
    );
    this.created.hidden = false;
  }
}
