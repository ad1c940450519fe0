// Your answers in one project, newest first: what you answered and whether you may still revise it (its task is
// open). Revising opens the workspace on that task with your answer loaded.
import { api } from "../lib/api.js";
import { formatDate, t } from "../lib/i18n.js";
import { describeAnswer } from "../lib/task_view.js";
import { labelChoices } from "../annotate/workspace.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);
const page = $("answers-page");
const projectId = Number(page.dataset.projectId);
const PER_PAGE = 50;
let paths = new Map();
let number = 1;

const fail = (error) => showError($("answers-error"), error);

function preview(data) {
  if (typeof data.text === "string") return data.text.length > 80 ? `${data.text.slice(0, 80)}…` : data.text;
  return typeof data.image === "string" ? data.image.split("/").pop() : "";
}

function status(answer) {
  if (answer.revisable) return t("ma.revisable");
  return answer.task_status === "completed" ? t("ma.final") : t("ma.closed");
}

async function load() {
  const found = await api.get(`/api/v1/me/annotations?project_id=${projectId}&per_page=${PER_PAGE}&page=${number}`);
  $("my-answers").replaceChildren(...found.items.map((answer) => {
    const row = document.createElement("tr");
    row.dataset.annotationId = String(answer.id);
    cell(row, `#${answer.task_id} ${preview(answer.task_data || {})}`);
    cell(row, describeAnswer(answer.result, paths));
    cell(row, status(answer));
    cell(row, formatDate(answer.created_at));
    const actions = document.createElement("td");
    if (answer.revisable) {
      const link = document.createElement("a");
      link.href = `/projects/${projectId}/label?revise=${answer.id}`;
      link.textContent = t("ma.revise");
      link.dataset.revise = String(answer.id);
      actions.append(link);
    }
    row.append(actions);
    return row;
  }));
  const pages = Math.max(1, Math.ceil(found.total / PER_PAGE));
  $("no-answers").hidden = found.total > 0;
  $("page-of").textContent = t("tb.pageOf", { page: number, pages });
  $("prev-page").disabled = number <= 1;
  $("next-page").disabled = number >= pages;
  page.dataset.state = "ready";
}

$("prev-page").addEventListener("click", () => { number -= 1; load().catch(fail); });
$("next-page").addEventListener("click", () => { number += 1; load().catch(fail); });
$("to-label").href = `/projects/${projectId}/label`;
$("answers-note").hidden = !new URLSearchParams(window.location.search).has("revised");

try {
  const project = await api.get(`/api/v1/projects/${projectId}`);
  $("project-name").textContent = project.name;
  paths = new Map(labelChoices(project.label_schema).map((c) => [c.id, c.path]));
  await load();
} catch (error) {
  fail(error);
  page.dataset.state = "ready";
}
