// The references under an answer. Each one: its name (opens its summary and code), path:lines
// as a link to the code viewer at those lines, which retrievers found it and its final score.
// The server sends summaries as descriptions only (ragcode/chat/references.py).
import { api } from "./api.js";
import { t } from "./i18n.js";
import { codeBlock, el, label } from "./render.js";

const RETRIEVERS = ["vector", "lexical"];
let viewers = 0; // ids of the viewers the path:lines links point to

function lines(start, end) {
  return !end || String(start) === String(end) ? `${start}` : `${start}-${end}`;
}

function describe(ref) {
  const path = ref.path ?? ref.source ?? "";
  const start = ref.start_line ?? ref.start;
  const end = ref.end_line ?? ref.end;
  let where = path;
  if (ref.location) where = `${path} · ${ref.location}`; // documents: rows, pages, paragraphs
  else if (start) where = `${path}:${lines(start, end)}`;
  // Older history kept no `retrievers`: the scores of the retrievers that found it say the same.
  const scores = ref.scores ?? {};
  const retrievers = ref.retrievers ?? RETRIEVERS.filter((name) => scores[name] != null);
  return {
    name: ref.name ?? ref.title ?? "", where, retrievers, score: ref.score, scores: ref.scores,
    code: ref.code ?? ref.text, language: ref.language ?? ref.format ?? "", summary: ref.summary,
    // A code unit: numbered from its first line, downloaded under its file's name (a
    // document's chunk is text made from its rows or pages: neither).
    startLine: ref.start_line, filename: ref.path,
    repo: ref.repo ?? null, commit: ref.commit ?? null, path,
  };
}

function retrieverLabels(names) {
  const box = el("span", "reference-retrievers");
  box.title = t("foundBy");
  for (const name of names) {
    // Labels drawn with `label` are relabelled by a language switch (i18n.applyTranslations).
    const chip = label("span", "retriever", name === "vector" ? "retrieverVector" : "retrieverLexical");
    chip.dataset.retriever = name;
    box.append(chip);
  }
  return box;
}

function scoreLabel(score, scores) {
  const box = el("span", "reference-score");
  box.append(label("span", null, "score"), ` ${Number(score).toFixed(3)}`);
  box.dataset.score = String(score);
  if (scores) {
    const parts = ["vector", "lexical", "fused", "rerank"].filter((key) => scores[key] != null);
    box.title = parts.map((key) => `${key} ${Number(scores[key]).toFixed(3)}`).join(" · ");
  }
  return box;
}

// A unit of a registered git repository: "repo@commit", and its whole file as indexed.
function repoLabel(info, viewer, open) {
  const box = el("span", "reference-repo muted");
  const short = info.commit ? `@${info.commit.slice(0, 7)}` : "";
  box.append(el("code", null, `${info.repo}${short}`));
  if (info.commit) box.title = info.commit;
  const whole = label("button", "link reference-file", "wholeFile");
  whole.type = "button";
  whole.addEventListener("click", async () => {
    open();
    try {
      const file = await api.repoFile(info.repo, info.path);
      const block = codeBlock(file.text, file.language ?? info.language, { startLine: 1, filename: info.path });
      block.classList.add("reference-whole-file");
      // the unit was read at an older commit (unchanged since, or synced after the answer)
      if (file.commit && info.commit && file.commit !== info.commit) {
        block.prepend(el("p", "small muted", `${t("fileAtCommit")} ${file.commit.slice(0, 7)}`));
      }
      viewer.querySelector(".reference-whole-file")?.remove();
      viewer.append(block);
    } catch (error) {
      viewer.append(el("p", "error", error.message));
    }
  });
  box.append(" ", whole);
  return box;
}

function reference(info) {
  const item = el("li", "reference");
  const head = el("div", "reference-head");
  const toggle = el("button", "reference-toggle link", info.name || info.where);
  toggle.type = "button";
  toggle.setAttribute("aria-expanded", "false");
  const viewer = el("div", "reference-viewer");
  viewer.id = `reference-${(viewers += 1)}`;
  viewer.hidden = true;
  const show = (open) => {
    if (!viewer.childElementCount) {
      if (info.summary) viewer.append(el("p", "summary", info.summary));
      viewer.append(codeBlock(info.code, info.language, { startLine: info.startLine, filename: info.filename }));
    }
    viewer.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => show(viewer.hidden));
  const link = el("a", "reference-location", info.where);
  link.href = `#${viewer.id}`;
  link.title = t("openAtLines");
  link.addEventListener("click", (event) => {
    event.preventDefault();
    show(true);
    viewer.scrollIntoView({ block: "nearest" });
  });
  head.append(toggle, link);
  if (info.repo) head.append(repoLabel(info, viewer, () => show(true)));
  if (info.retrievers.length) head.append(retrieverLabels(info.retrievers));
  if (typeof info.score === "number") head.append(scoreLabel(info.score, info.scores));
  item.append(head, viewer);
  return item;
}

export function referenceList(references) {
  const box = el("div", "references");
  box.append(label("div", "references-title", "references"));
  const list = el("ol");
  for (const ref of references) {
    if (ref.kind === "timestamp") list.append(el("li", "reference", `${ref.text} → ${ref.iso}`));
    else {
      const info = describe(ref);
      list.append(info.code ? reference(info) : el("li", "reference", info.where));
    }
  }
  box.append(list);
  return box;
}
