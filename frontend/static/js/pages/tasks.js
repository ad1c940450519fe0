// The task browser: a project's tasks filtered by status, flags, gold, who answered and how sure the consensus
// is; each row opens the task viewer. The filters live in the address, so a filtered list can be shared and the
// back button returns to it.
import { api } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { describeObjects, describeResult, formatShare } from "../lib/quality.js";
import { filterQuery } from "../lib/task_view.js";
import { labelChoices } from "../annotate/workspace.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);
const page = $("tasks-page");
const projectId = Number(page.dataset.projectId);
const form = $("task-filters");
const PER_PAGE = 50;
let paths = new Map();

const fail = (error) => showError($("tasks-error"), error);

function preview(task) {
  if (typeof task.data.text === "string") return task.data.text.length > 80 ? `${task.data.text.slice(0, 80)}…` : task.data.text;
  const name = task.data.name || (typeof task.data.image === "string" ? task.data.image.split("/").pop() : "");
  return task.external_id || name || `#${task.id}`;
}

function filters() {
  const wanted = {};
  for (const element of form.elements) if (element.name) wanted[element.name] = element.value.trim();
  return wanted;
}

function fillForm(params) {
  for (const element of form.elements) if (element.name && params.has(element.name)) element.value = params.get(element.name);
}

async function load() {
  const params = new URLSearchParams(window.location.search);
  const number = Math.max(1, Number(params.get("page")) || 1);
  const query = filterQuery({ ...Object.fromEntries(params), page: number, per_page: PER_PAGE });
  $("tasks-error").hidden = true;
  const found = await api.get(`/api/v1/projects/${projectId}/tasks?${query}`);
  $("task-rows").replaceChildren(...found.items.map((task) => {
    const row = document.createElement("tr");
    row.dataset.taskId = String(task.id);
    const link = document.createElement("a");
    link.href = `/projects/${projectId}/tasks/${task.id}?${params}`;
    link.textContent = `#${task.id}`;
    const first = document.createElement("td");
    first.append(link);
    row.append(first);
    cell(row, preview(task));
    cell(row, t(`tb.s.${task.status}`) + (task.is_gold ? ` · ${t("tb.goldMark")}` : ""));
    cell(row, String(task.annotations), "num");
    const result = task.consensus && task.consensus.result;
    cell(row, result && Array.isArray(result.objects) && !(result.labels || []).length
      ? describeObjects(result.objects, paths) : describeResult(result, paths));
    cell(row, formatShare(task.consensus && task.consensus.confidence), "num");
    cell(row, formatShare(task.consensus && task.consensus.agreement), "num");
    row.addEventListener("click", (event) => { if (event.target.tagName !== "A") link.click(); });
    return row;
  }));
  const pages = Math.max(1, Math.ceil(found.total / PER_PAGE));
  $("tasks-count").textContent = t("tb.count", { count: found.total });
  $("no-tasks").hidden = found.items.length > 0;
  $("page-of").textContent = t("tb.pageOf", { page: number, pages });
  $("prev-page").disabled = number <= 1;
  $("next-page").disabled = number >= pages;
  $("prev-page").onclick = () => go({ ...Object.fromEntries(params), page: number - 1 });
  $("next-page").onclick = () => go({ ...Object.fromEntries(params), page: number + 1 });
  page.dataset.state = "ready";
}

function go(wanted) {
  window.history.pushState(null, "", `?${filterQuery(wanted)}`);
  load().catch(fail);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  go(filters());
});
window.addEventListener("popstate", () => { fillForm(new URLSearchParams(window.location.search)); load().catch(fail); });

try {
  const project = await api.get(`/api/v1/projects/${projectId}`);
  $("project-name").textContent = project.name;
  paths = new Map(labelChoices(project.label_schema).map((c) => [c.id, c.path]));
  if (["owner", "manager"].includes(project.role)) {
    $("to-import").href = `/projects/${projectId}/import`;
    $("to-import").hidden = false;
    const members = await api.get(`/api/v1/projects/${projectId}/members?per_page=500`);
    const select = form.elements.annotator_id;
    for (const member of members.items) {
      const option = document.createElement("option");
      option.value = String(member.user.id);
      option.textContent = member.user.display_name;
      select.append(option);
    }
    $("annotator-filter").hidden = members.items.length === 0;
  }
  fillForm(new URLSearchParams(window.location.search));
  await load();
} catch (error) {
  fail(error);
  page.dataset.state = "ready";
}
