// The team's git repositories (GET /api/repos): indexed commit, units, summary progress and
// this server's last sync; admins can ask for a sync now. Polled while something is moving.
import { api } from "./api.js";
import { lang, t } from "./i18n.js";
import { el, label } from "./render.js";

const POLL_MS = 5000;
const SLOW_POLL_MS = 30000;

function when(epoch) {
  return epoch ? new Date(epoch * 1000).toLocaleString(lang() === "ko" ? "ko-KR" : "en") : t("notSynced");
}

export class Repos {
  constructor({ list, notify }) {
    this.list = list;
    this.notify = notify;
    this.timer = null;
  }

  // Never rejects: a failing list is a notice, like the API keys'.
  async refresh() {
    clearTimeout(this.timer);
    let data;
    try {
      data = await api.repos();
    } catch (error) {
      this.notify(error.message);
      return;
    }
    this.list.replaceChildren();
    if (!data.repos.length) this.list.append(label("li", "muted small", "noRepos"));
    for (const repo of data.repos) this.list.append(this.row(repo, data.can_sync));
    // Quick while a sync runs; slowly while only summaries are pending (hours, at times).
    const syncing = data.repos.some((r) => r.sync.state !== "idle");
    const summarizing = data.repos.some((r) => r.summaries_pending > 0);
    if (syncing || summarizing) this.timer = setTimeout(() => this.refresh(), syncing ? POLL_MS : SLOW_POLL_MS);
  }

  clear() {
    clearTimeout(this.timer);
    this.list.replaceChildren();
  }

  row(repo, canSync) {
    const item = el("li", "repo");
    item.dataset.repo = repo.name;
    const head = el("div", "repo-head");
    head.append(el("strong", "repo-name", repo.name), el("span", "muted small", repo.branch));
    const commit = el("code", "repo-commit small", repo.commit ? repo.commit.slice(0, 12) : "-");
    if (repo.commit) commit.title = repo.commit;
    const done = repo.summaries_done;
    const total = repo.summaries_done + repo.summaries_pending;
    const counts = `${repo.units} ${t("units")} · ${t("summaries")} ${done}/${total}`;
    item.append(head, commit, el("div", "small muted", when(repo.synced_at)), el("div", "small", counts));
    const state = el("div", "repo-state small", repo.sync.state === "idle" ? "" : t(`sync_${repo.sync.state}`));
    state.dataset.state = repo.sync.state;
    if (repo.sync.error) state.append(el("span", "error", repo.sync.error));
    item.append(state);
    if (canSync) {
      const button = label("button", "link repo-sync", "syncNow");
      button.type = "button";
      button.disabled = repo.sync.state !== "idle";
      button.addEventListener("click", async () => {
        button.disabled = true;
        await api.syncRepo(repo.name).catch((error) => this.notify(error.message));
        await this.refresh();
      });
      item.append(button);
    }
    return item;
  }
}
