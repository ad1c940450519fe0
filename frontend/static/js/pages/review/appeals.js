// The project's open appeals: the answer, why it was rejected, why its author appeals, and Uphold / Overturn with a
// note. The rejection's reviewer and the author may not decide (the API's 403 says so, shown on the row).
import { api } from "../../lib/api.js";
import { formatDate, formatMoney, t } from "../../lib/i18n.js";
import { appealFacts } from "../../lib/review.js";
import { describeAnswer } from "../../lib/task_view.js";
import { noteForm } from "../../components/note_form.js";
import { cell } from "../../components/table.js";
import { $, element, keyButton } from "./dom.js";
import { nameOf } from "./item.js";

const LOOKUP_TASKS = 100; // tasks of the author searched for the appealed answer, when the appeal does not carry it

/** Show the open appeals; `onDecided` runs after a decision (the numbers change). */
export async function loadAppeals(rv, onDecided) {
  const found = await api.get(`/api/v1/projects/${rv.projectId}/appeals?status=open&per_page=100`);
  const names = await memberNames(rv);
  const rows = await Promise.all(found.items.map(async (appeal) => appealRow(rv, appeal, await facts(rv, appeal),
    names, onDecided)));
  $("appeal-rows").replaceChildren(...rows);
  $("appeals-section").hidden = false;
  $("no-appeals").hidden = found.items.length > 0;
  document.querySelector("table.appeals").hidden = found.items.length === 0;
}

async function memberNames(rv) {
  if (rv.memberNames) return rv.memberNames;
  if (!["owner", "manager"].includes(rv.project.role)) return new Map(); // reviewers may not list members
  try {
    const members = await api.get(`/api/v1/projects/${rv.projectId}/members?per_page=500`);
    rv.memberNames = new Map(members.items.map((m) => [m.user.id, m.user.display_name]));
  } catch {
    rv.memberNames = new Map(); // reviewers may not list members
  }
  return rv.memberNames;
}

// The appealed answer and its rejection: from the appeal when the API names them, else the answer is looked up
// among the author's tasks (the task's answers list it with its author).
async function facts(rv, appeal) {
  const known = appealFacts(appeal);
  if (known.taskId && known.result) return known;
  try {
    const tasks = await api.get(`/api/v1/projects/${rv.projectId}/tasks?annotator_id=${appeal.user_id}&per_page=${LOOKUP_TASKS}`);
    for (const task of tasks.items) {
      const answers = await api.get(`/api/v1/tasks/${task.id}/annotations?per_page=100`);
      const answer = answers.items.find((a) => a.id === appeal.annotation_id);
      if (answer) return { ...known, taskId: task.id, result: answer.result, user: known.user || answer.user };
    }
  } catch { /* what the appeal says is shown */ }
  return known;
}

function appealRow(rv, appeal, known, names, onDecided) {
  const row = document.createElement("tr");
  row.dataset.appealId = String(appeal.id);
  row.dataset.annotationId = String(appeal.annotation_id);
  row.dataset.status = appeal.status;
  const who = known.user ? nameOf({ user: known.user, user_id: appeal.user_id })
    : names.get(appeal.user_id) || `#${appeal.user_id}`;
  cell(row, who);
  const answer = cell(row, "");
  if (known.taskId) {
    const link = element("a", "", t("tv.title", { id: known.taskId }));
    link.href = `/projects/${rv.projectId}/tasks/${known.taskId}`;
    answer.append(link, " ");
  }
  answer.append(known.result ? describeAnswer(known.result, rv.paths) : t("rv.answerNumber", { id: appeal.annotation_id }));
  cell(row, known.rejection || "—", known.rejection ? "rejection" : "muted");
  const reason = cell(row, appeal.reason, "appeal-reason");
  reason.append(element("div", "muted small", formatDate(appeal.created_at)));
  row.append(decisionCell(rv, appeal, onDecided));
  return row;
}

function decisionCell(rv, appeal, onDecided) {
  const td = element("td", "decision");
  const { form, label, box: note, problem } = noteForm("decide-form", t("rv.decisionNote"), { name: "note",
                                                                                             hiddenCaption: true });
  const buttons = element("div", "actions");
  for (const [decision, className] of [["overturn", ""], ["uphold", "secondary"]]) {
    const button = keyButton(t(`rv.${decision}`), "", className);
    button.dataset.decision = decision;
    button.addEventListener("click", () => decide(rv, appeal, decision, note.value, td, problem, onDecided));
    buttons.append(button);
  }
  form.addEventListener("submit", (event) => event.preventDefault());
  form.append(label, buttons, problem);
  td.append(form);
  return td;
}

async function decide(rv, appeal, decision, note, td, problem, onDecided) {
  const buttons = [...td.querySelectorAll("button")];
  if (buttons.some((button) => button.disabled)) return;
  buttons.forEach((button) => { button.disabled = true; });
  problem.hidden = true;
  try {
    const done = await api.post(`/api/v1/appeals/${appeal.id}/decide`, { decision, note: note.trim() });
    td.closest("tr").dataset.status = done.status;
    const words = done.status === "overturned"
      ? t("rv.overturnedRestored", { amount: formatMoney(done.restored || 0, rv.currency) })
      : t("rv.upheldWords");
    td.replaceChildren(element("span", `pill verdict ${done.status}`, t(`rv.appeal.${done.status}`)),
      element("div", "small", words));
    if (onDecided) onDecided();
  } catch (error) {
    // 403: you made the rejection (or the appeal is yours); 409: decided meanwhile. The API's words.
    problem.textContent = error.message;
    problem.hidden = false;
    buttons.forEach((button) => { button.disabled = false; });
  }
}
