// Your answers in one project, newest first: what you answered, whether you may still revise it (its task is
// open) and what a reviewer said. Revising opens the workspace on that task with your answer loaded. Rejected
// answers are listed first with the reviewer's reason: each may be appealed once before its deadline, and the
// appeal's fate (open, the rejection upheld, or overturned and your pay restored) shows there afterwards.
import { api } from "../lib/api.js";
import { formatDate, formatMoney, t } from "../lib/i18n.js";
import { reviewState } from "../lib/review.js";
import { describeAnswer } from "../lib/task_view.js";
import { labelChoices } from "../annotate/workspace.js";
import { showError, startPage } from "../components/chrome.js";
import { noteForm } from "../components/note_form.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);
const page = $("answers-page");
const projectId = Number(page.dataset.projectId);
const PER_PAGE = 50;
let paths = new Map();
let number = 1;
let currency = "CNY";

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
    const review = reviewState(answer);
    const verdict = cell(row, t(review.verdictKey), review.verdict ? `verdict-cell ${review.verdict}` : "muted");
    verdict.dataset.verdict = review.verdict || "";
    if (review.appeal && review.appeal !== "overturned") { // an overturn is the verdict's own words
      verdict.append(element("div", "muted small", t(`ma.appeal.${review.appeal}`)));
    }
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

function element(tag, className = "", text = "") {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text) made.textContent = text;
  return made;
}

async function everything(path) {
  const found = await api.get(`${path}&per_page=100`);
  return found.items;
}

// Your rejected answers (those an appeal overturned too), newest verdict first, with their appeals.
async function rejections() {
  const [rejected, overturned, appeals] = await Promise.all([
    everything(`/api/v1/me/annotations?project_id=${projectId}&verdict=rejected`),
    everything(`/api/v1/me/annotations?project_id=${projectId}&verdict=overturned`),
    everything("/api/v1/me/appeals?page=1")]);
  const byId = new Map(appeals.map((appeal) => [appeal.id, appeal]));
  const answers = [...rejected, ...overturned].sort((a, b) => String(b.reviewed_at).localeCompare(String(a.reviewed_at)));
  $("rejected-list").replaceChildren(...answers.map((answer) => rejectedItem(answer, byId.get(answer.appeal_id))));
  $("rejections").hidden = answers.length === 0;
  page.dataset.rejections = "ready";
}

function rejectedItem(answer, appeal) {
  const review = reviewState(answer);
  const item = element("li", "rejected");
  item.dataset.annotationId = String(answer.id);
  item.dataset.reviewId = String(answer.review_id);
  item.dataset.appeal = review.appeal || (review.appealable ? "possible" : "closed");
  const head = element("div", "rejected-head");
  head.append(element("strong", "", `#${answer.task_id} ${preview(answer.task_data || {})}`),
    element("span", "muted", ` · ${describeAnswer(answer.result, paths)}`));
  const why = element("p", "rejected-why");
  why.append(element("span", "muted", `${t("ma.rejectedOn", { when: formatDate(answer.reviewed_at) })} `),
    element("span", "review-note", review.note || "—"));
  item.append(head, why, appealLine(answer, review, appeal));
  return item;
}

// What you may do about the rejection, or what became of your appeal.
function appealLine(answer, review, appeal) {
  const line = element("div", "appeal-line");
  if (review.appeal) {
    line.append(element("span", `pill verdict ${review.appeal}`, t(`ma.appeal.${review.appeal}`)));
    let words = t(`ma.appealWords.${review.appeal}`);
    if (review.appeal === "overturned" && appeal && appeal.restored) {
      words = t("ma.appealRestored", { amount: formatMoney(appeal.restored, currency) });
    }
    line.append(" ", element("span", "small", words));
    if (appeal && appeal.note && review.appeal !== "open") line.append(element("div", "muted small", t("ma.decisionNote", { note: appeal.note })));
    return line;
  }
  if (!review.appealable) {
    line.append(element("span", "muted small", answer.appeal_until
      ? t("ma.windowClosed", { when: formatDate(answer.appeal_until) }) : t("ma.noAppeal")));
    return line;
  }
  const button = element("button", "secondary", t("ma.appeal"));
  button.type = "button";
  button.dataset.appealFor = String(answer.review_id);
  line.append(button, " ", element("span", "muted small", t("ma.appealUntil", { when: formatDate(review.until) })));
  button.addEventListener("click", () => line.replaceWith(appealForm(answer, review, appeal)));
  return line;
}

function appealForm(answer, review, appeal) {
  const { form, label, box: reason, problem } = noteForm("appeal-form", t("ma.appealReason"), { rows: 3, name: "reason" });
  const actions = element("div", "actions");
  const send = element("button", "", t("ma.sendAppeal"));
  send.type = "submit";
  const cancel = element("button", "link", t("ws.cancel"));
  cancel.type = "button";
  cancel.addEventListener("click", () => form.replaceWith(appealLine(answer, review, appeal)));
  actions.append(send, cancel, element("span", "muted small", t("ma.appealUntil", { when: formatDate(review.until) })));
  form.append(label, problem, actions);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (send.disabled) return;
    if (!reason.value.trim()) {
      problem.textContent = t("ma.appealNeedsReason");
      problem.hidden = false;
      reason.focus();
      return;
    }
    send.disabled = true;
    try {
      await api.post(`/api/v1/reviews/${answer.review_id}/appeal`, { reason: reason.value.trim() });
      await Promise.all([rejections(), load()]);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      send.disabled = false;
    }
  });
  setTimeout(() => reason.focus());
  return form;
}

$("prev-page").addEventListener("click", () => { number -= 1; load().catch(fail); });
$("next-page").addEventListener("click", () => { number += 1; load().catch(fail); });
$("to-label").href = `/projects/${projectId}/label`;
$("answers-note").hidden = !new URLSearchParams(window.location.search).has("revised");

try {
  const project = await api.get(`/api/v1/projects/${projectId}`);
  $("project-name").textContent = project.name;
  paths = new Map(labelChoices(project.label_schema).map((c) => [c.id, c.path]));
  currency = (await api.get("/api/v1/wallet").catch(() => ({ currency: "CNY" }))).currency;
  await Promise.all([load(), rejections()]);
} catch (error) {
  fail(error);
  page.dataset.state = "ready";
}
