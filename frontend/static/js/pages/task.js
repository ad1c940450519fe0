// One task as the people who run a project see it: the item with every answer overlaid in its annotator's
// colour (boxes, polygons, points on an image; spans as one row per annotator on a text), the consensus dashed
// in black, each answer with its review, the task's flags, and the ledger lines it caused (owners, managers).
import { api } from "../lib/api.js";
import { formatDate, formatMoney, t } from "../lib/i18n.js";
import { formatShare } from "../lib/quality.js";
import { CONSENSUS_COLOR, annotatorColors, describeAnswer, overlay } from "../lib/task_view.js";
import { labelChoices } from "../annotate/workspace.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";
import { drawShapes, legend, spanRow, swatch } from "../components/answer_view.js";

await startPage();
const $ = (id) => document.getElementById(id);
const page = $("task-page");
const projectId = Number(page.dataset.projectId);
const taskId = Number(page.dataset.taskId);
const hidden = new Set(); // owners (user ids, "consensus") switched off in the legend
let draw = () => {};

const fail = (error) => showError($("task-error"), error);

// Who answered; an external contributor (answers imported from another tool) is named as such.
function nameOf(answer) {
  if (!answer.user) return `#${answer.user_id}`;
  return answer.user.external ? `${answer.user.display_name} (${t("q.external")})` : answer.user.display_name;
}

function answerRow(answer, color, paths) {
  const row = document.createElement("tr");
  row.dataset.userId = String(answer.user_id);
  const who = document.createElement("td");
  who.append(swatch(color), " ", nameOf(answer));
  row.append(who);
  cell(row, describeAnswer(answer.result, paths));
  cell(row, answer.verdict ? t(`tv.v.${answer.verdict}`) : "—");
  cell(row, answer.lead_time_ms ? `${(answer.lead_time_ms / 1000).toFixed(1)} s` : "—", "num");
  cell(row, formatDate(answer.created_at));
  return row;
}

function ledgerRows(transactions, currency) {
  const rows = [];
  for (const transaction of transactions) {
    transaction.lines.forEach((line, n) => {
      const row = document.createElement("tr");
      row.dataset.transactionId = String(transaction.id);
      cell(row, n === 0 ? t(`tv.k.${transaction.kind}`, {}) : "");
      const holder = line.user ? ` · ${line.user.display_name}` : "";
      cell(row, `${t(`tv.a.${line.account}`)}${holder}`);
      cell(row, formatMoney(line.amount, currency), "num");
      cell(row, n === 0 ? formatDate(transaction.created_at) : "");
      rows.push(row);
    });
  }
  return rows;
}

async function all(path) {
  const items = [];
  for (let number = 1; ; number += 1) {
    const found = await api.get(`${path}${path.includes("?") ? "&" : "?"}per_page=500&page=${number}`);
    items.push(...found.items);
    if (items.length >= found.total || found.items.length === 0) return items;
  }
}

try {
  const project = await api.get(`/api/v1/projects/${projectId}`);
  const back = new URLSearchParams(window.location.search).toString();
  $("back-to-tasks").href = `/projects/${projectId}/tasks${back ? `?${back}` : ""}`;
  $("project-name").textContent = project.name;
  $("task-title").textContent = t("tv.title", { id: taskId });
  const paths = new Map(labelChoices(project.label_schema).map((c) => [c.id, c.path]));
  const staff = ["owner", "manager"].includes(project.role);
  const [task, answers, consensus] = await Promise.all([api.get(`/api/v1/tasks/${taskId}`),
    all(`/api/v1/tasks/${taskId}/annotations`), api.get(`/api/v1/tasks/${taskId}/consensus`).catch(() => null)]);
  $("task-facts").textContent = [t(`tb.s.${task.status}`), task.is_gold ? t("tb.goldMark") : null,
    task.external_id ? t("tv.external", { id: task.external_id }) : null, formatDate(task.created_at)]
    .filter(Boolean).join(" · ");
  const colors = annotatorColors(answers);
  const names = new Map(answers.map((a) => [a.user_id, nameOf(a)]));
  const entries = [...colors].map(([id, color]) => [id, names.get(id), color]);
  const agreed = consensus && consensus.result;
  if (agreed) entries.push(["consensus", t("q.consensus"), CONSENSUS_COLOR]);
  $("consensus-line").textContent = agreed
    ? `${describeAnswer(agreed, paths)} · ${t("q.confidence")} ${formatShare(consensus.confidence)} · `
      + `${t("q.agreement")} ${formatShare(consensus.agreement)} · ${consensus.method}`
    : t("tv.noConsensus");
  $("answers").replaceChildren(...answers.map((a) => answerRow(a, colors.get(a.user_id), paths)));
  $("no-answers").hidden = answers.length > 0;
  legend($("legend"), entries, hidden, () => draw());
  if (typeof task.data.image === "string") {
    const image = $("task-image");
    const shapes = overlay(answers, colors, agreed);
    draw = () => drawShapes($("task-overlay"), image, shapes, paths, hidden);
    image.addEventListener("load", () => { draw(); page.dataset.state = "ready"; });
    image.src = task.data.image;
    $("image-host").hidden = false;
  } else {
    const text = String(task.data.text ?? "");
    $("task-plain").textContent = text;
    $("text-host").hidden = false;
    // Spans: a row of the text per annotator with their spans marked; whole-item labels only: the text once.
    const withSpans = answers.some((a) => a.result && Array.isArray(a.result.spans) && a.result.spans.length);
    $("task-plain").hidden = withSpans;
    const spanRows = () => [...answers.map((a) => spanRow(names.get(a.user_id), colors.get(a.user_id), text,
      (a.result && a.result.spans) || [], paths, a.user_id, hidden)),
    ...(agreed && agreed.spans ? [spanRow(t("q.consensus"), CONSENSUS_COLOR, text, agreed.spans, paths, "consensus", hidden)] : [])];
    draw = () => $("span-rows").replaceChildren(...(withSpans ? spanRows() : []));
    draw();
  }
  const flags = staff ? await all(`/api/v1/projects/${projectId}/flags?task_id=${taskId}`) : [];
  $("task-flags").replaceChildren(...flags.map((flag) => {
    const row = document.createElement("tr");
    row.dataset.flagId = String(flag.id);
    cell(row, t(`ws.flag.${flag.reason}`));
    cell(row, flag.note || "");
    cell(row, t(`tv.flag.${flag.status}`));
    cell(row, formatDate(flag.created_at));
    return row;
  }));
  $("flags-section").hidden = flags.length === 0;
  if (staff) {
    const currency = (await api.get("/api/v1/wallet").catch(() => ({ currency: "CNY" }))).currency;
    const ledger = await all(`/api/v1/tasks/${taskId}/ledger`);
    $("ledger-rows").replaceChildren(...ledgerRows(ledger, currency));
    $("no-ledger").hidden = ledger.length > 0;
    $("ledger-section").hidden = false;
  }
  if (typeof task.data.image !== "string") page.dataset.state = "ready";
} catch (error) {
  fail(error);
  page.dataset.state = "ready";
}
