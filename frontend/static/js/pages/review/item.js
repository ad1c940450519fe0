// The item in hand: lease the next one from the review queue, show why it was picked, the task with every answer
// side by side (overlaid in each annotator's colour on an image, a row per annotator on a text with spans), the
// consensus and the gold answer; keep the review lease alive while the tab is in use.
import { api } from "../../lib/api.js";
import { formatDate, formatMoney, t } from "../../lib/i18n.js";
import { formatShare } from "../../lib/quality.js";
import { nextOpen, queues, remaining, whyPicked } from "../../lib/review.js";
import { CONSENSUS_COLOR, annotatorColors, describeAnswer, overlay, shapeOf } from "../../lib/task_view.js";
import { countdown, heartbeatEvery } from "../../annotate/workspace.js";
import { toResult } from "../../annotate/document.js";
import { drawShapes, legend, spanRow, swatch } from "../../components/answer_view.js";
import { nextSteps } from "../../components/next_steps.js";
import { noteForm } from "../../components/note_form.js";
import { $, clearMessages, element, fail, keyButton, setReady } from "./dom.js";

export const GOLD_COLOR = "#8A6D00";

/** The page's state: one object every module of the page takes first. */
export function createReview({ me, projectId, project }) {
  return {
    me, projectId, project,
    paths: new Map(), // label id -> "Bird › Warbler"
    item: null, // POST /review/next's answer
    current: -1, // the answer in hand (index in item.answers)
    mode: "idle", // review | reject | fix | idle
    busy: false, // a verdict is on its way
    beat: null, // the heartbeat's interval
    hidden: new Set(), // owners switched off in the legend
    colors: new Map(),
    made: new Map(), // answer id -> the verdict given on this page (POST /annotations/{id}/review's answer)
    ws: null, // the labelling page's state, for its label picker (fix.js makes it once)
    fix: null, // while an answer is being fixed: ws, holding the fix
    loadingImage: false,
    rejectDraft: "", // a rejection's reason being written
    actions: {}, // the page's actions by name (keys.js): the answers' buttons call them
    currency: "CNY",
  };
}

/** Who answered; an external contributor (answers imported from another tool) is named as such. */
export function nameOf(answer) {
  if (!answer.user) return `#${answer.user_id}`;
  return answer.user.external ? `${answer.user.display_name} (${t("q.external")})` : answer.user.display_name;
}

/** Lease the next item and show it, or say that nothing is left. */
export async function loadNext(rv, { again = true } = {}) {
  clearInterval(rv.beat);
  rv.item = null;
  rv.fix = null;
  rv.mode = "idle";
  const item = await api.post(`/api/v1/projects/${rv.projectId}/review/next`);
  if (item === null) {
    showEmpty(rv);
    return;
  }
  if (!remaining(item.answers).length) {
    // Judged meanwhile elsewhere (the task viewer) while our lease lived: give it back and ask once more.
    await api.post(`/api/v1/review-leases/${item.review_lease.id}/release`).catch(() => null);
    if (again) await loadNext(rv, { again: false });
    else showEmpty(rv);
    return;
  }
  rv.item = item;
  rv.hidden.clear();
  rv.current = nextOpen(item.answers, -1);
  rv.mode = "review";
  showItem(rv);
  rv.beat = setInterval(() => heartbeat(rv), heartbeatEvery(rv.project.lease_seconds));
}

function showEmpty(rv) {
  $("item-panel").hidden = true;
  $("empty-panel").hidden = false;
  $("countdown").textContent = "";
  const policy = rv.project.review;
  const runs = ["owner", "manager"].includes(rv.project.role);
  if (!queues(policy)) {
    $("empty-text").textContent = t("rv.noPolicy");
    $("empty-next").textContent = t(runs ? "rv.setPolicy" : "rv.askForPolicy");
    nextSteps($("empty-links"), runs ? [["rv.policyLink", `/projects/${rv.projectId}/settings#review-fields`]] : []);
  } else {
    $("empty-text").textContent = t("rv.queueEmpty");
    $("empty-next").textContent = t("rv.queueEmptyNext");
    nextSteps($("empty-links"), [["home.tasks", `/projects/${rv.projectId}/tasks`],
      ["home.dashboard", `/projects/${rv.projectId}/quality`]]);
  }
  $("empty-panel").dataset.empty = queues(policy) ? "queue" : "policy";
  setReady(true);
}

function showItem(rv) {
  const { item } = rv;
  $("empty-panel").hidden = true;
  $("item-panel").hidden = false;
  $("item-panel").dataset.taskId = String(item.task.id);
  $("item-panel").dataset.leaseId = String(item.review_lease.id);
  const title = $("item-title");
  const link = element("a", "", t("tv.title", { id: item.task.id }));
  link.href = `/projects/${rv.projectId}/tasks/${item.task.id}`;
  title.replaceChildren(link);
  if (item.task.external_id) title.append(element("span", "muted small", ` · ${t("tv.external", { id: item.task.external_id })}`));
  $("item-why").textContent = whyPicked(item);
  rv.colors = annotatorColors(item.answers);
  const agreed = item.consensus && item.consensus.result;
  $("consensus-line").textContent = agreed
    ? `${describeAnswer(agreed, rv.paths)} · ${t("q.confidence")} ${formatShare(item.consensus.confidence)} · `
      + `${t("q.agreement")} ${formatShare(item.consensus.agreement)}`
    : t("tv.noConsensus");
  const gold = item.task.is_gold && item.task.gold;
  $("gold-section").hidden = !gold;
  $("gold-line").textContent = gold ? describeAnswer(gold, rv.paths) : "";
  const entries = [...rv.colors].map(([id, color]) => [id, nameOf(item.answers.find((a) => a.user_id === id)), color]);
  if (agreed) entries.push(["consensus", t("q.consensus"), CONSENSUS_COLOR]);
  if (gold) entries.push(["gold", t("rv.gold"), GOLD_COLOR]);
  legend($("legend"), entries, rv.hidden, () => drawItem(rv));
  $("fix-panel").hidden = true;
  renderAnswers(rv);
  startMedia(rv);
  tick(rv);
}

// The answers as shown: the one being fixed with the fix as it stands.
function shownAnswers(rv) {
  if (!rv.fix) return rv.item.answers;
  return rv.item.answers.map((answer) => (answer.id === rv.fix.answerId
    ? { ...answer, result: toResult(rv.fix.history.present, rv.fix.schema) } : answer));
}

function startMedia(rv) {
  const data = rv.item.task.data;
  const image = $("task-image");
  if (typeof data.image === "string") {
    $("image-host").hidden = false;
    $("text-host").hidden = true;
    setReady(false);
    rv.loadingImage = true;
    const ready = () => { rv.loadingImage = false; drawItem(rv); setReady(!rv.busy); };
    if (image.getAttribute("src") === data.image && image.complete && image.naturalWidth) {
      ready();
    } else {
      image.onload = ready;
      image.onerror = () => { rv.loadingImage = false; fail(new Error(t("ws.imageFailed"))); setReady(true); };
      image.src = data.image;
    }
  } else {
    $("image-host").hidden = true;
    $("text-host").hidden = false;
    drawItem(rv);
    setReady(true);
  }
}

/** Draw every answer (and the consensus and gold) over the image, or a row per annotator under a text. */
export function drawItem(rv) {
  if (!rv.item) return;
  const { task, consensus } = rv.item;
  const answers = shownAnswers(rv);
  const agreed = consensus && consensus.result;
  const gold = task.is_gold ? task.gold : null;
  if (typeof task.data.image === "string") {
    const image = $("task-image");
    if (!image.naturalWidth) return;
    const shapes = [...overlay(answers, rv.colors, agreed),
      ...overlay(gold ? [{ user_id: "gold", result: gold }] : [], new Map([["gold", GOLD_COLOR]]))
        .map((shape) => ({ ...shape, dashed: true }))];
    const chosen = rv.fix && rv.fix.selected >= 0 ? rv.fix.history.present.objects[rv.fix.selected] : null;
    const outline = chosen ? shapeOf(chosen) : null;
    if (outline) shapes.push({ ...outline, owner: "selected", color: rv.colors.get(rv.fix.userId), label: chosen.label, selected: true });
    drawShapes($("task-overlay"), image, shapes, rv.paths, rv.hidden);
    return;
  }
  const text = String(task.data.text ?? JSON.stringify(task.data));
  const withSpans = answers.some((a) => a.result && Array.isArray(a.result.spans) && a.result.spans.length)
    || Boolean(agreed && agreed.spans && agreed.spans.length) || Boolean(gold && gold.spans && gold.spans.length);
  $("task-plain").textContent = text;
  $("task-plain").hidden = withSpans;
  const rows = withSpans ? [
    ...answers.map((a) => spanRow(nameOf(a), rv.colors.get(a.user_id), text, (a.result && a.result.spans) || [],
      rv.paths, a.user_id, rv.hidden)),
    ...(agreed && agreed.spans ? [spanRow(t("q.consensus"), CONSENSUS_COLOR, text, agreed.spans, rv.paths, "consensus", rv.hidden)] : []),
    ...(gold && gold.spans ? [spanRow(t("rv.gold"), GOLD_COLOR, text, gold.spans, rv.paths, "gold", rv.hidden)] : []),
  ] : [];
  $("span-rows").replaceChildren(...rows);
}

/** The answers, side by side: who, what they answered, its verdict or the buttons that give one. */
export function renderAnswers(rv) {
  const { answers } = rv.item;
  const left = remaining(answers).length;
  $("answers-left").textContent = t("rv.left", { left, count: answers.length });
  $("review-answers").replaceChildren(...answers.map((answer, index) => answerCard(rv, answer, index)));
  const current = $("review-answers").children[rv.current];
  if (current && rv.mode === "review") current.scrollIntoView?.({ block: "nearest" });
}

function answerCard(rv, answer, index) {
  const item = element("li", "review-answer");
  item.dataset.answerId = String(answer.id);
  item.dataset.verdict = answer.verdict || "";
  if (index === rv.current) item.setAttribute("aria-current", "true");
  const head = element("div", "answer-head");
  const who = element("span", "answer-who");
  who.append(swatch(rv.colors.get(answer.user_id)), " ", nameOf(answer));
  head.append(who);
  const facts = [];
  if (answer.lead_time_ms) facts.push(`${(answer.lead_time_ms / 1000).toFixed(1)} s`);
  if (typeof answer.gold_score === "number") facts.push(t("rv.goldScore", { share: formatShare(answer.gold_score) }));
  if (answer.created_at) facts.push(formatDate(answer.created_at));
  head.append(element("span", "muted small", facts.join(" · ")));
  if (answer.verdict) head.append(element("span", `pill verdict ${answer.verdict}`, t(`tv.v.${answer.verdict}`)));
  item.append(head, element("div", "answer-body", describeAnswer(answer.result, rv.paths)));
  const made = rv.made.get(answer.id);
  if (made) item.append(element("div", "muted small", madeWords(rv, made)));
  if (!answer.verdict && rv.mode === "reject" && index === rv.current) {
    item.append(rejectForm(rv));
  } else if (!answer.verdict && !(rv.mode === "fix" && index === rv.current)) {
    const actions = element("div", "answer-actions");
    for (const [action, key, words, className] of [["accept", "a", t("rv.accept"), ""],
      ["reject", "r", t("rv.reject"), "secondary"], ["fix", "f", t("rv.fix"), "secondary"]]) {
      const button = keyButton(words, index === rv.current ? key : "", className);
      button.dataset.action = action;
      button.disabled = rv.mode !== "review"; // a reason or a fix in hand first
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        if (rv.mode !== "review" || rv.busy) return;
        rv.current = index;
        rv.actions[action]();
      });
      actions.append(button);
    }
    item.append(actions);
  }
  item.addEventListener("click", () => {
    if (rv.mode !== "review" || rv.current === index) return;
    rv.current = index;
    renderAnswers(rv);
  });
  return item;
}

// What a verdict given here did: the reason, what a rejection took back, the fix's result.
function madeWords(rv, made) {
  const parts = [];
  if (made.note) parts.push(t("rv.because", { note: made.note }));
  if (made.taken_back) parts.push(t("rv.takenBack", { amount: formatMoney(made.taken_back, rv.currency) }));
  if (made.verdict === "fixed" && made.result) parts.push(t("rv.fixedTo", { answer: describeAnswer(made.result, rv.paths) }));
  return parts.join(" · ");
}

function rejectForm(rv) {
  const { form, label, box: reason, problem } = noteForm("reject-form", t("rv.rejectReason"), { maxLength: 2000,
                                                                                             id: "reject-reason" });
  reason.value = rv.rejectDraft || "";
  reason.addEventListener("input", () => {
    rv.rejectDraft = reason.value;
    $("reject-error").hidden = true; // the words about an empty reason go once there is one
  });
  problem.id = "reject-error";
  const actions = element("div", "actions");
  const send = keyButton(t("rv.sendReject"), "Enter", "danger");
  send.type = "submit";
  const cancel = keyButton(t("ws.cancel"), "Esc", "link");
  cancel.addEventListener("click", () => rv.actions.cancel());
  actions.append(send, cancel);
  form.append(label, problem, actions);
  form.addEventListener("submit", (event) => { event.preventDefault(); rv.actions.sendReject(); });
  return form;
}

/** The lease's countdown, red once it has run out. */
export function tick(rv) {
  if (!rv.item) { $("countdown").textContent = ""; return; }
  const left = countdown(rv.item.review_lease.expires_at, Date.now());
  $("countdown").textContent = left ? t("rv.lease", { left }) : t("ws.leaseExpired");
  $("countdown").classList.toggle("error", !left);
}

async function heartbeat(rv) {
  if (!rv.item || document.hidden) return;
  try {
    const kept = await api.post(`/api/v1/review-leases/${rv.item.review_lease.id}/heartbeat`);
    rv.item.review_lease.expires_at = kept.expires_at;
  } catch (error) {
    if (error.status === 409) tick(rv);
    else fail(error);
  }
}

/** After a verdict: the next answer still waiting, or (every answer judged) the next item. */
export async function afterVerdict(rv) {
  const next = nextOpen(rv.item.answers, rv.current);
  if (next >= 0) {
    rv.current = next;
    rv.mode = "review";
    renderAnswers(rv);
    drawItem(rv);
    return;
  }
  const paid = [...rv.made.values()].reduce((sum, made) => sum + (made.reviewer_paid || 0), 0);
  const task = rv.item.task.id;
  clearMessages();
  rv.made.clear();
  await loadNext(rv);
  const words = t("rv.itemDone", { task }) + (paid ? ` ${t("rv.paid", { amount: formatMoney(paid, rv.currency) })}` : "");
  $("review-note").textContent = words;
  $("review-note").hidden = false;
}
