// The task on screen and its lease: lease the next one, show it (a kept draft restored, its image decoded),
// count the lease down and keep it alive while the tab is in use; and the wallet's pending earnings.
import { api } from "../../lib/api.js";
import { formatMoney, t } from "../../lib/i18n.js";
import { countdown, heartbeatEvery, mediaUrl } from "../../annotate/workspace.js";
import { createHistory } from "../../annotate/undo.js";
import { draftKey, emptyDocument, errorsByPart, fromResult, readDraft } from "../../annotate/document.js";
import { $, fail, focusWork, note } from "./dom.js";
import { renderDone } from "./done.js";
import { needsTerms, showTerms } from "./terms.js";
import { setTool } from "./toolbar.js";
import { doc, imageTools } from "./state.js";

function show(panel) {
  for (const id of ["task-panel", "done-panel", "terms-panel"]) $(id).hidden = id !== panel;
}

export function setReady(ready) {
  $("workspace").dataset.state = ready ? "ready" : "working";
}

/** Lease the next task and show it, or say that none is left. */
export async function loadNext(ws) {
  // The last task's words (its restored draft, a shape to finish) go with it, even when no task follows.
  $("workspace-error").hidden = true;
  $("workspace-note").hidden = true;
  clearInterval(ws.beat);
  ws.lease = null; // the last task is done with, whatever /next answers
  try {
    ws.lease = await api.post(`/api/v1/projects/${ws.projectId}/next`);
  } catch (error) {
    if (!needsTerms(error)) throw error;
    // The project's terms first (new, or changed since you accepted them): accepted, on to the next task.
    tick(ws);
    await showTerms(ws, async () => {
      try {
        await loadNext(ws);
      } catch (next) {
        fail(next);
      }
      setReady(Boolean(ws.lease));
    });
    return;
  }
  if (ws.lease === null) {
    tick(ws);
    await renderDone(ws);
    show("done-panel");
    return;
  }
  show("task-panel");
  await renderTask(ws);
  ws.beat = setInterval(() => heartbeat(ws), heartbeatEvery(ws.project.lease_seconds));
}

/** Open one of your answers to revise it (its task still open): the task as it was, your answer loaded; sending
 * it again replaces the answer (PUT /annotations/{id}), no lease involved. */
export async function loadRevision(ws, annotationId) {
  const answer = await api.get(`/api/v1/annotations/${annotationId}`);
  if (!answer.revisable) throw new Error(t(answer.task_status === "completed" ? "ma.final" : "ma.closed"));
  ws.lease = { assignment: { id: `revise-${answer.id}`, expires_at: null },
    task: { id: answer.task_id, data: answer.task_data }, revision: answer };
  show("task-panel");
  for (const id of ["skip", "flag"]) if ($(id)) $(id).hidden = true;
  await renderTask(ws);
  note("ws.revising", { task: answer.task_id });
}

async function renderTask(ws) {
  const { task, assignment } = ws.lease;
  $("task-content").dataset.taskId = String(task.id);
  const restored = readDraft(localStorage.getItem(draftKey(assignment.id)) || "null");
  const start = ws.lease.revision ? fromResult(ws.lease.revision.result) : emptyDocument();
  ws.history = createHistory(restored || start);
  ws.selected = -1;
  ws.selectedSpan = -1;
  ws.errors = errorsByPart({});
  $("workspace-note").hidden = true;
  if (restored) note("ws.draftRestored");
  const src = mediaUrl(task.data);
  $("stage-host").hidden = !src;
  $("text-host").hidden = Boolean(src);
  if (src) await showImage(ws, src);
  else ws.image = null;
  ws.shownAt = performance.now();
  ws.leadTime = null;
  ws.render();
  tick(ws);
  focusWork(ws);
}

/** Decode the task's image onto the stage; on a fresh image task, the first drawing tool is ready. */
async function showImage(ws, src) {
  const image = new Image();
  image.decoding = "async";
  image.src = src;
  try {
    await image.decode();
    ws.image = image;
    ws.stage.setImage(image);
  } catch {
    ws.image = null; // nothing can be drawn on it: skip or flag it
    ws.stage.setImage(null);
    fail(new Error(t("ws.imageFailed")));
  }
  if (ws.tool === "select" && imageTools(ws).length && !doc(ws).objects.length) setTool(ws, imageTools(ws)[0]);
}

/** The lease's countdown, red once it has run out. */
export function tick(ws) {
  const countdownText = $("countdown");
  if (!ws.lease || ws.lease.revision) {
    countdownText.textContent = "";
    return;
  }
  const left = countdown(ws.lease.assignment.expires_at, Date.now());
  countdownText.textContent = left ? t("ws.lease", { left }) : t("ws.leaseExpired");
  countdownText.classList.toggle("error", !left);
}

async function heartbeat(ws) {
  if (!ws.lease || document.hidden) return;
  try {
    const renewed = await api.post(`/api/v1/assignments/${ws.lease.assignment.id}/heartbeat`);
    ws.lease.assignment.expires_at = renewed.expires_at;
  } catch (error) {
    if (error.status === 409) tick(ws);
    else fail(error);
  }
}

export async function refreshWallet(ws) {
  try {
    ws.wallet = await api.get("/api/v1/wallet");
  } catch {
    return;
  }
  const pending = $("pending");
  pending.hidden = !(ws.project.rewards && ws.project.rewards.per_annotation);
  const { currency } = ws.wallet;
  pending.textContent = t("ws.pending", { pending: formatMoney(ws.wallet.pending, currency),
    available: formatMoney(ws.wallet.balance, currency) });
  pending.dataset.pending = String(ws.wallet.pending);
  pending.dataset.earned = String(ws.wallet.pending + ws.wallet.balance);
}
