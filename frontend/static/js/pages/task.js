// One task as the people who run a project see it: the item with every answer overlaid in its annotator's
// colour (boxes, polygons, points on an image; spans as one row per annotator on a text), the consensus dashed
// in black, each answer with its review, the task's flags, and the ledger lines it caused (owners, managers).
import { api } from "../lib/api.js";
import { formatDate, formatMoney, t } from "../lib/i18n.js";
import { formatShare } from "../lib/quality.js";
import { CONSENSUS_COLOR, annotatorColors, describeAnswer, overlay, spanPieces } from "../lib/task_view.js";
import { labelChoices } from "../annotate/workspace.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);
const page = $("task-page");
const projectId = Number(page.dataset.projectId);
const taskId = Number(page.dataset.taskId);
const SVG = "http://www.w3.org/2000/svg";
const hidden = new Set(); // owners (user ids, "consensus") switched off in the legend
let draw = () => {};

const fail = (error) => showError($("task-error"), error);

function swatch(color) {
  const mark = document.createElement("span");
  mark.className = "swatch";
  mark.style.background = color;
  return mark;
}

// The legend: one switch per annotator (and the consensus) that hides or shows their marks.
function legend(entries) {
  const box = $("legend");
  box.replaceChildren(box.querySelector("legend"));
  for (const [owner, name, color] of entries) {
    const label = document.createElement("label");
    label.className = "inline";
    const box2 = document.createElement("input");
    box2.type = "checkbox";
    box2.checked = !hidden.has(owner);
    box2.dataset.owner = String(owner);
    box2.addEventListener("change", () => {
      if (box2.checked) hidden.delete(owner); else hidden.add(owner);
      draw();
    });
    label.append(box2, " ", swatch(color), " ", name);
    box.append(label);
  }
  box.hidden = entries.length === 0;
}

function drawImage(image, shapes, paths) {
  const svg = $("task-overlay");
  svg.setAttribute("viewBox", `0 0 ${image.naturalWidth} ${image.naturalHeight}`);
  const stroke = Math.max(1.5, image.naturalWidth / 400);
  svg.replaceChildren(...shapes.filter((s) => !hidden.has(s.owner)).map((s) => {
    const element = document.createElementNS(SVG, s.shape);
    for (const key of ["x", "y", "width", "height", "points", "cx", "cy"]) {
      if (s[key] !== undefined) element.setAttribute(key, String(s[key]));
    }
    if (s.shape === "circle") element.setAttribute("r", String(stroke * 3));
    element.setAttribute("stroke", s.color);
    element.setAttribute("stroke-width", String(stroke));
    element.setAttribute("fill", s.shape === "circle" ? s.color : `${s.color}22`);
    if (s.dashed) element.setAttribute("stroke-dasharray", `${stroke * 4} ${stroke * 3}`);
    element.dataset.owner = String(s.owner);
    const title = document.createElementNS(SVG, "title");
    title.textContent = paths.get(s.label) || s.label;
    element.append(title);
    return element;
  }));
}

function spanRow(name, color, text, spans, paths, owner) {
  const row = document.createElement("tr");
  row.dataset.owner = String(owner);
  const who = document.createElement("td");
  who.append(swatch(color), " ", name);
  const body = document.createElement("td");
  body.className = "task-text";
  for (const piece of spanPieces(text, spans)) {
    if (!piece.labels.length) { body.append(piece.text); continue; }
    const mark = document.createElement("mark");
    mark.style.background = `${color}33`;
    mark.style.borderBottom = `2px solid ${color}`;
    mark.title = piece.labels.map((id) => paths.get(id) || id).join(", ");
    mark.textContent = piece.text;
    body.append(mark);
  }
  row.append(who, body);
  row.hidden = hidden.has(owner);
  return row;
}

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
  legend(entries);
  if (typeof task.data.image === "string") {
    const image = $("task-image");
    const shapes = overlay(answers, colors, agreed);
    draw = () => drawImage(image, shapes, paths);
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
      (a.result && a.result.spans) || [], paths, a.user_id)),
    ...(agreed && agreed.spans ? [spanRow(t("q.consensus"), CONSENSUS_COLOR, text, agreed.spans, paths, "consensus")] : [])];
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
