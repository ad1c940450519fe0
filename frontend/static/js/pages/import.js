// Import: drop files (images, zip archives, a Label Studio export); each upload becomes an import job with
// its own progress bar, then the files refused with their reasons and the near-duplicates found.
import { api } from "../lib/api.js";
import { formatDate, formatNumber, t } from "../lib/i18n.js";
import { showError, startPage } from "../components/chrome.js";

await startPage();
const $ = (id) => document.getElementById(id);
const projectId = Number($("import-page").dataset.projectId);
const jobs = new Map(); // id -> last report
const RECENT = 20; // imports listed on arrival
let polling = null;

function line(text, className) {
  const item = document.createElement("li");
  item.textContent = text;
  if (className) item.className = className;
  return item;
}

function render() {
  $("no-imports").hidden = jobs.size > 0;
  $("import-jobs").replaceChildren(...[...jobs.values()].sort((a, b) => b.id - a.id).map((job) => {
    const item = document.createElement("li");
    item.dataset.importId = String(job.id);
    item.dataset.status = job.status;
    const head = document.createElement("div");
    const names = (job.files || []).map((f) => f.name).join(", ");
    const when = job.created_at ? ` · ${formatDate(job.created_at)}` : "";
    head.textContent = `#${job.id}${when} · ${names} · ${t(`imp.status.${job.status}`)}`;
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.round((job.progress || 0) * 100)}%`;
    bar.append(fill);
    item.append(head, bar);
    const counts = job.counts || {};
    if (counts.answers !== undefined) {
      const summary = document.createElement("p");
      summary.className = "muted small counts";
      summary.textContent = answerWords(counts);
      item.append(summary);
    } else if (job.status === "finished" || job.status === "failed") {
      const summary = document.createElement("p");
      summary.className = "muted small counts";
      summary.textContent = t("imp.counts", { count: counts.created || 0, created: formatNumber(counts.created || 0),
        duplicates: formatNumber(counts.duplicates || 0), rejected: formatNumber((job.rejected || []).length) });
      item.append(summary);
    }
    if (job.error) item.append(line(job.error, "error"));
    if ((job.rejected || []).length) {
      const heading = document.createElement("h3");
      heading.textContent = t("imp.rejected");
      const list = document.createElement("ul");
      list.className = "rejected";
      list.append(...job.rejected.map((r) => line(`${r.file}: ${r.reason}`, "error small")));
      item.append(heading, list);
    }
    if ((job.near_duplicates || []).length) {
      const heading = document.createElement("h3");
      heading.textContent = t("imp.duplicates");
      const list = document.createElement("ul");
      list.append(...job.near_duplicates.map((d) => line(`${d.name || d.image} ≈ ${d.similar_name || d.similar_to} (${d.distance})`, "muted small")));
      item.append(heading, list);
    }
    return item;
  }));
}

async function poll() {
  clearTimeout(polling);
  const open = [...jobs.values()].filter((job) => job.status === "queued" || job.status === "running");
  for (const job of open) {
    try {
      jobs.set(job.id, await api.get(`/api/v1/imports/${job.id}`));
    } catch (error) {
      showError($("import-error"), error);
    }
  }
  render();
  if ([...jobs.values()].some((job) => job.status === "queued" || job.status === "running")) {
    polling = setTimeout(poll, 1000);
  }
}

async function send(files) {
  if (!files.length) return;
  $("import-error").hidden = true;
  const data = new FormData();
  for (const file of files) data.append("files", file, file.name);
  try {
    const made = await api.upload(`/api/v1/projects/${projectId}/imports`, data);
    jobs.set(made.id, { ...made, files: [...files].map((f) => ({ name: f.name })) });
    render();
    poll();
  } catch (error) {
    showError($("import-error"), error);
  }
}

function answerWords(counts) {
  return t("imp.answerCounts", { count: counts.answers ?? counts.created, created: formatNumber(counts.answers ?? counts.created),
    annotators: formatNumber(counts.annotators), duplicates: formatNumber(counts.duplicates),
    tasks: formatNumber(counts.tasks_created) });
}

const ANSWER_TYPES = { csv: "text/csv", ndjson: "application/x-ndjson", jsonl: "application/x-ndjson",
  json: "application/json" };

// A file of answers given elsewhere: imported at once (a summary and a link to the dashboard), or, when large,
// by a job followed in the list below.
async function sendAnswers(file) {
  if (!file) return;
  $("answers-error").hidden = true;
  $("answers-result").textContent = "";
  const type = ANSWER_TYPES[file.name.split(".").pop().toLowerCase()] || file.type || "text/csv";
  const create = $("create-tasks").checked ? "?create_tasks=true" : "";
  try {
    const made = await api.sendFile(`/api/v1/projects/${projectId}/answers/import${create}`, file, type);
    if (made.id !== undefined) { // a job
      jobs.set(made.id, made);
      render();
      poll();
      return;
    }
    $("answers-result").replaceChildren(answerWords(made), " ");
    const link = document.createElement("a");
    link.href = `/projects/${projectId}/quality`;
    link.textContent = t("imp.seeQuality");
    $("answers-result").append(link);
  } catch (error) {
    const fields = error.problem && error.problem.errors;
    const lines = fields ? Object.entries(fields).slice(0, 10).map(([where, said]) => `${where}: ${said[0]}`) : [];
    showError($("answers-error"), lines.length ? new Error([error.message, ...lines].join("\n")) : error);
  }
}

const answersZone = $("answers-zone");
answersZone.addEventListener("dragover", (event) => { event.preventDefault(); answersZone.classList.add("over"); });
answersZone.addEventListener("dragleave", () => answersZone.classList.remove("over"));
answersZone.addEventListener("drop", (event) => {
  event.preventDefault();
  answersZone.classList.remove("over");
  sendAnswers(event.dataTransfer.files[0]);
});
$("answer-file").addEventListener("change", () => { sendAnswers($("answer-file").files[0]); $("answer-file").value = ""; });

const zone = $("drop-zone");
zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  send(event.dataTransfer.files);
});
$("files").addEventListener("change", () => { send($("files").files); $("files").value = ""; });
$("to-dashboard").href = `/projects/${projectId}/quality`;
$("to-settings").href = `/projects/${projectId}/settings`;

/** The project's recent imports, as the server has them: a reload forgets nothing and still follows the running. */
async function loadRecent() {
  const page = await api.get(`/api/v1/projects/${projectId}/imports?per_page=${RECENT}`);
  for (const job of page.items) if (!jobs.has(job.id)) jobs.set(job.id, job);
  render();
  await poll();
}

try {
  const project = await api.get(`/api/v1/projects/${projectId}`);
  $("import-title").textContent = t("imp.title", { name: project.name });
  $("answers-import").hidden = project.role !== "owner";
  await loadRecent();
} catch (error) {
  showError($("import-error"), error);
  zone.hidden = true;
}
$("import-page").dataset.state = "ready";
