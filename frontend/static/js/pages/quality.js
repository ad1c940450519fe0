// A project's quality for its owner, managers and reviewers: agreement, per label, per annotator, per task.
import { api } from "../lib/api.js";
import { formatDate, formatMoney, formatNumber as localNumber, formatPercent, t } from "../lib/i18n.js";
import { startPage } from "../components/chrome.js";
import { nextSteps } from "../components/next_steps.js";
import { cell } from "../components/table.js";
import { labelChoices } from "../annotate/workspace.js";
import { skillMatrix } from "../lib/skills.js";
import { labelName } from "../annotate/taxonomy.js";
import { confusionName, describeObjects, describeResult, formatInterval, formatNumber, formatShare, labelRows, objectLabelRows,
  sortAnnotators } from "../lib/quality.js";

await startPage();
const root = document.getElementById("quality");
const projectId = Number(root.dataset.projectId);
document.getElementById("browse-tasks").href = `/projects/${projectId}/tasks`;
const $ = (id) => document.getElementById(id);
let annotators = [];
let names = new Map();
let earned = new Map(); // user id -> what they earned in this project, settled and pending (minor units)
let currency = "CNY";
let ownerPanels = false;

function fail(error) {
  $("quality-error").textContent = error.message;
  $("quality-error").hidden = false;
}

// An annotator's row: their name, then the given numbers right-aligned.
function annotatorRow(a, numbers) {
  const row = document.createElement("tr");
  row.dataset.userId = String(a.user_id);
  cell(row, names.get(a.user_id) || `#${a.user_id}`);
  for (const text of numbers) cell(row, text, "num");
  return row;
}

function renderAnnotators(key = "annotations") {
  $("annotators").replaceChildren(...sortAnnotators(annotators, key).map((a) => annotatorRow(a, [
    String(a.annotations), formatShare(a.agreement_with_consensus), formatShare(a.gold_accuracy),
    formatNumber(a.reliability), a.earned === null ? "—" : formatMoney(a.earned, currency)])));
}

async function load() {
  const project = await api.get(`/api/v1/projects/${projectId}`);
  $("project-name").textContent = `${project.name} · ${t("dash.title")}`;
  if (!ownerPanels && ["owner", "manager"].includes(project.role)) {
    ownerPanels = true; // once: load() runs again while the agreement is being computed
    if (project.role === "owner") {
      $("audit-link").href = `/api/v1/projects/${projectId}/audit.csv`;
      $("audit-panel").hidden = false;
      $("releases-link").href = `/projects/${projectId}/releases`; // make releases of its exports, record revenue
      $("releases-panel").hidden = false;
    }
    progress().catch(fail);
    loadFlags().catch(fail);
    startExports(project);
  }
  const paths = new Map(labelChoices(project.label_schema).map((c) => [c.id, c.path]));
  try {
    const members = await api.get(`/api/v1/projects/${projectId}/members?per_page=500`);
    names = new Map(members.items.map((m) => [m.user.id, m.user.display_name]));
  } catch {
    names = new Map();  // reviewers may not list members
  }
  try { // people who label a public project need not be members: the leaderboard names everyone who answered
    const board = await api.get(`/api/v1/projects/${projectId}/leaderboard?per_page=500`);
    for (const row of board.items) {
      // An external contributor (answers imported from another tool) is named as such: never a member, never paid.
      if (!names.has(row.user_id)) names.set(row.user_id, row.external ? `${row.display_name} (${t("q.external")})` : row.display_name);
      if (!row.external) earned.set(row.user_id, row.earned + row.pending); // imported answers are never paid: "—"
    }
    currency = (await api.get("/api/v1/wallet")).currency;
  } catch { /* ids, then */ }
  const report = await api.get(`/api/v1/projects/${projectId}/agreement`);
  if (report.status === "computing") {
    $("quality-waiting").hidden = false;
    setTimeout(() => load().catch(fail), 3000);
    return;
  }
  $("quality-waiting").hidden = true;
  if (!report.annotations) {
    await sayWhatNext(project);
    $("quality-empty").hidden = false; // shown once it says what to do, never empty
    return;
  }
  $("quality-empty").hidden = true;
  $("alpha").textContent = formatNumber(report.krippendorff_alpha);
  $("alpha-distance").textContent = report.alpha_distance ? `(${report.alpha_distance})` : "";
  $("alpha-interval").textContent = formatInterval(report.alpha_interval);
  $("nominal-alpha").textContent = formatNumber(report.nominal_alpha);
  $("fleiss").textContent = formatNumber(report.fleiss_kappa);
  $("cohen").textContent = formatNumber(report.mean_pairwise_cohen_kappa);
  // Boxes, polygons, keypoints and spans: mean matched F1 between annotators, and their labels' alpha.
  $("structure-figures").replaceChildren(...["bbox", "polygon", "keypoint", "span"]
    .filter((kind) => report[`${kind}_f1`])
    .map((kind) => {
      const figure = report[`${kind}_f1`];
      const box = document.createElement("div");
      box.dataset.kind = kind;
      const dt = document.createElement("dt");
      dt.textContent = t("q.structureF1", { tool: t(`pf.tool.${kind === "span" ? "span" : kind}`) });
      const dd = document.createElement("dd");
      dd.textContent = formatNumber(figure.mean_f1);
      const more = document.createElement("dd");
      more.className = "muted";
      more.textContent = t("q.structureMore", { pairs: figure.pairs, alpha: formatNumber(figure.label_alpha),
        placed: formatNumber(figure.localisation) });
      box.append(dt, dd, more);
      return box;
    }));
  $("summary").textContent = t("q.summary", { answers: localNumber(report.annotations),
    tasks: localNumber(report.tasks), method: report.method || "—", when: formatDate(report.computed_at) });
  const onObjects = report.measured_on === "objects";
  $("measured-on-objects").hidden = !onObjects;
  renderLabels($("labels"), onObjects ? objectLabelRows(report.objects, paths, t("q.noObject"))
    : labelRows(report.per_label, paths));
  renderConfusion($("confusion-panel"), $("confusion"), report.confusion, paths);
  renderObjects(report.objects, onObjects, paths);
  annotators = report.per_annotator.map((a) => ({ ...a, earned: earned.has(a.user_id) ? earned.get(a.user_id) : null }));
  renderAnnotators();
  if (["owner", "manager"].includes(project.role)) await renderSkills(project).catch(fail);
  const page = await api.get(`/api/v1/projects/${projectId}/tasks?per_page=100`);
  const tasks = $("tasks-table");
  tasks.replaceChildren();
  for (const task of page.items) {
    const tr = document.createElement("tr");
    tr.dataset.taskId = String(task.id);
    const open = document.createElement("a");
    open.href = `/projects/${projectId}/tasks/${task.id}`;
    open.textContent = task.data.text || task.data.name || `#${task.id}`;
    const first = document.createElement("td");
    first.append(open);
    tr.append(first);
    cell(tr, String(task.annotations), "num");
    const result = task.consensus && task.consensus.result;
    cell(tr, result && Array.isArray(result.objects) && !(result.labels || []).length
      ? describeObjects(result.objects, paths) : describeResult(result, paths));
    cell(tr, formatShare(task.consensus && task.consensus.confidence), "num");
    cell(tr, formatShare(task.consensus && task.consensus.agreement), "num");
    tasks.append(tr);
  }
  $("quality-body").hidden = false;
}

// Annotators x subtrees: each cell an annotator's accuracy in the subtree, darker when higher; the interval and
// the answers behind it on hover.
async function renderSkills(project) {
  const body = await api.get(`/api/v1/projects/${projectId}/skills`);
  const { columns, rows } = skillMatrix(body.items, project.label_schema.labels);
  $("skills-section").hidden = rows.length === 0;
  const head = document.createElement("tr");
  const corner = document.createElement("th");
  corner.textContent = t("sk.annotator");
  head.append(corner, ...[{ node: null }, ...columns].map(({ node }) => {
    const th = document.createElement("th");
    th.textContent = node ? labelName(node) : t("sk.whole");
    if (node) th.dataset.label = node.id;
    return th;
  }));
  const lines = rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.userId = String(row.userId);
    cell(tr, names.get(row.userId) || `#${row.userId}`);
    for (const skill of [row.whole, ...columns.map(({ node }) => row.cells.get(node.id))]) {
      const td = document.createElement("td");
      if (skill) {
        td.textContent = formatShare(skill.accuracy);
        td.style.setProperty("--heat", String(skill.accuracy));
        td.title = t("sk.row", { accuracy: formatShare(skill.accuracy), low: formatShare(skill.low),
          high: formatShare(skill.high), answers: skill.answers });
      }
      tr.append(td);
    }
    return tr;
  });
  $("skills-heatmap").replaceChildren(head, ...lines);
}

// No answers to measure yet: what would bring some (import tasks; invite annotators, or label a few).
async function sayWhatNext(project) {
  const runs = ["owner", "manager"].includes(project.role);
  const stats = runs ? await api.get(`/api/v1/projects/${projectId}/stats`).catch(() => null) : null;
  const noTasks = Boolean(stats) && stats.total === 0;
  $("quality-empty-text").textContent = t(noTasks ? "q.noTasks" : "q.noAnswers");
  const steps = [];
  if (noTasks) steps.push(["ws.importData", `/projects/${projectId}/import`]);
  else {
    if (project.role === "owner") steps.push(["q.invite", `/projects/${projectId}/members`]);
    if (project.status === "active") steps.push(["q.labelYourself", `/projects/${projectId}/label`]);
  }
  nextSteps($("quality-empty-steps"), steps);
}

// Per label: its alpha as a bar (red when below zero) and how many answers gave it.
function renderLabels(body, rows) {
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    if (row.id === null) tr.dataset.noObject = "";
    cell(tr, row.path);
    const alpha = document.createElement("td");
    alpha.className = "num bar-cell";
    const bar = document.createElement("span");
    bar.className = `alpha-bar${row.alpha !== null && row.alpha < 0 ? " negative" : ""}`;
    bar.style.width = `${Math.round(Math.min(1, Math.abs(row.alpha ?? 0)) * 100)}%`;
    const value = document.createElement("span");
    value.textContent = formatNumber(row.alpha);
    alpha.append(bar, value);
    tr.append(alpha);
    cell(tr, String(row.annotations), "num");
    return tr;
  }));
}

function figure(label, value, extra) {
  const box = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = value;
  box.append(dt, dd);
  if (extra) {
    const more = document.createElement("dd");
    more.className = "muted";
    more.textContent = extra;
    box.append(more);
  }
  return box;
}

// Boxes, polygons and keypoints matched across answers: how many objects, how well placed, who drew what;
// with whole-item labels too, the objects' own label measures (otherwise they are the headline above).
function renderObjects(block, onObjects, paths) {
  $("objects-panel").hidden = !block;
  if (!block) return;
  $("objects-summary").textContent = t("q.objectsSummary", {
    objects: localNumber(block.objects), kinds: block.kinds.map((kind) => t(`pf.tool.${kind}`)).join(", "),
    pairs: localNumber(block.matched_pairs), placed: formatNumber(block.localisation),
    nothing: localNumber(block.no_object.annotations), method: block.method || "—" });
  $("objects-labels").hidden = onObjects;
  if (!onObjects) {
    $("objects-figures").replaceChildren(
      figure(`${t("q.alpha")} (${block.alpha_distance || "—"})`, formatNumber(block.krippendorff_alpha),
        `${t("q.interval")} ${formatInterval(block.alpha_interval)}`),
      figure(t("q.nominal"), formatNumber(block.nominal_alpha)),
      figure(t("q.fleiss"), formatNumber(block.fleiss_kappa)),
      figure(t("q.cohen"), formatNumber(block.mean_pairwise_cohen_kappa)),
      figure(t("q.localisation"), formatNumber(block.localisation)));
    renderLabels($("objects-per-label"), objectLabelRows(block, paths, t("q.noObject")));
    renderConfusion($("objects-confusion-panel"), $("objects-confusion"), block.confusion, paths);
  }
  $("objects-annotators").replaceChildren(...sortAnnotators(block.per_annotator, "objects").map((a) => annotatorRow(a, [
    String(a.objects), formatShare(a.agreement_with_consensus), formatNumber(a.reliability)])));
}

// The most confused labels as a heatmap: darker cells, more pairs of answers split between the two labels.
// For objects, a null label is "no object": one annotator drew it, the other nothing there.
function renderConfusion(panel, table, confusion, paths) {
  panel.hidden = !confusion;
  if (!confusion) return;
  const most = Math.max(1, ...confusion.pairs.flatMap((row, i) => row.filter((_, j) => j !== i)));
  const head = document.createElement("tr");
  head.append(document.createElement("th"));
  const noObject = t("q.noObject");
  for (const id of confusion.labels) {
    const th = document.createElement("th");
    th.textContent = confusionName(id, paths, noObject).split(" › ").pop();
    th.title = confusionName(id, paths, noObject);
    head.append(th);
  }
  const rows = confusion.labels.map((id, i) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = confusionName(id, paths, noObject);
    tr.append(th);
    confusion.pairs[i].forEach((count, j) => {
      const td = document.createElement("td");
      td.className = i === j ? "num agree" : "num";
      td.textContent = String(count);
      if (i !== j) td.style.setProperty("--heat", String(count / most));
      tr.append(td);
    });
    return tr;
  });
  table.replaceChildren(head, ...rows);
}

// The moderation queue: open flags with the task, the reason and note; keep the task or take it out.
async function loadFlags() {
  const page = await api.get(`/api/v1/projects/${projectId}/flags?status=open&per_page=100`);
  $("flags").replaceChildren(...page.items.map((flag) => {
    const row = document.createElement("tr");
    row.dataset.flagId = String(flag.id);
    const open = document.createElement("a");
    open.href = `/projects/${projectId}/tasks/${flag.task_id}`;
    open.textContent = t("tv.title", { id: flag.task_id });
    const first = document.createElement("td");
    first.append(open);
    row.append(first);
    cell(row, t(`ws.flag.${flag.reason}`));
    cell(row, flag.note || "");
    cell(row, formatDate(flag.created_at));
    const actions = document.createElement("td");
    for (const action of ["keep", "remove"]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = action === "remove" ? "link danger" : "link";
      button.dataset.action = action;
      button.textContent = t(`q.flag.${action}`);
      button.addEventListener("click", async () => {
        try {
          await api.post(`/api/v1/flags/${flag.id}/resolve`, { action });
          await loadFlags();
        } catch (error) {
          fail(error);
        }
      });
      actions.append(button, " ");
    }
    row.append(actions);
    return row;
  }));
  $("no-flags").hidden = page.items.length > 0;
  $("flags-panel").hidden = false;
}

async function progress() {
  const stats = await api.get(`/api/v1/projects/${projectId}/stats`);
  const done = (stats.tasks && stats.tasks.completed) || 0;
  $("progress-bar").style.width = `${Math.round(stats.progress * 100)}%`;
  $("progress-bar").parentElement.setAttribute("aria-valuenow", String(Math.round(stats.progress * 100)));
  $("progress-text").textContent = `${t("dash.tasks", { done: localNumber(done), total: localNumber(stats.total) })} · ${formatPercent(stats.progress)}`;
  // Imported answers never complete a task of ours (no assignment), so say how far they reach.
  const imported = $("progress-imported");
  imported.hidden = !stats.imported;
  if (stats.imported) {
    imported.textContent = t("dash.imported", { answers: localNumber(stats.imported), tasks: localNumber(stats.answered) });
  }
  $("progress-panel").hidden = false;
}

// Exports: choose a format, watch the progress bar, download when done (owners and managers).
const FORMATS = { text: ["jsonl", "csv", "label_studio"], image: ["jsonl", "csv", "coco", "yolo", "voc", "label_studio"] };
let watching = null;

function startExports(project) {
  $("export-format").replaceChildren(...FORMATS[project.media_type].map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    return option;
  }));
  $("exports-panel").hidden = false;
  $("export-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("export-error").hidden = true;
    const data = Object.fromEntries(new FormData($("export-form")));
    try {
      await api.post(`/api/v1/projects/${projectId}/exports`, { format: data.format, include: data.include });
      await listExports();
    } catch (error) {
      $("export-error").textContent = error.message;
      $("export-error").hidden = false;
    }
  });
  listExports().catch(fail);
}

async function listExports() {
  const page = await api.get(`/api/v1/projects/${projectId}/exports?per_page=20`);
  $("exports").replaceChildren(...page.items.map((item) => {
    const row = document.createElement("tr");
    row.dataset.exportId = String(item.id);
    row.dataset.status = item.status;
    cell(row, `${item.format} · ${t(`dash.include.${item.include}`)}`);
    cell(row, formatDate(item.created_at));
    const status = document.createElement("td");
    const bar = document.createElement("div");
    bar.className = "bar small-bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.round((item.progress || 0) * 100)}%`;
    bar.append(fill);
    const words = document.createElement("span");
    words.className = item.status === "failed" ? "error small" : "muted small";
    words.textContent = t(`dash.status.${item.status}`) + (item.error ? `: ${item.error}` : "");
    status.append(bar, words);
    row.append(status);
    const links = document.createElement("td");
    if (item.status === "completed") {
      const download = document.createElement("a");
      download.href = item.download_url;
      download.textContent = `${t("dash.download")} (${localNumber(Math.max(1, Math.round(item.size_bytes / 1024)))} KB)`;
      download.className = "download";
      const card = document.createElement("a");
      card.href = item.card_url;
      card.textContent = t("dash.card");
      links.append(download, " · ", card);
    }
    row.append(links);
    return row;
  }));
  $("no-exports").hidden = page.items.length > 0;
  clearTimeout(watching);
  if (page.items.some((item) => item.status === "queued" || item.status === "running")) {
    watching = setTimeout(() => listExports().catch(fail), 1000);
  }
}

for (const button of document.querySelectorAll("[data-sort]")) {
  button.addEventListener("click", () => renderAnnotators(button.dataset.sort));
}
load().catch(fail);
