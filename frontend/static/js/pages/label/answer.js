// Leaving a task: submit the answer, skip it, or flag it; then straight on to the next one. The server's
// words about a refused answer land next to what they are about.
import { api } from "../../lib/api.js";
import { errorsByPart, problem, toResult } from "../../annotate/document.js";
import { $, fail, note } from "./dom.js";
import { dropDraft } from "./edit.js";
import { loadNext, refreshWallet, setReady } from "./lease.js";
import { doc, isImage } from "./state.js";

/** Send `work` for the task on screen, then lease the next one; one at a time. */
async function act(ws, work, { after } = {}) {
  if (ws.busy || !ws.lease) return;
  ws.busy = true;
  setReady(false);
  $("submit").disabled = $("skip").disabled = true;
  try {
    await work();
    if (after) after();
    await loadNext(ws);
  } catch (error) {
    await refused(ws, error);
  } finally {
    ws.busy = false;
    $("skip").disabled = false;
    if (ws.lease) ws.render();
    setReady(Boolean(ws.lease));
  }
}

async function refused(ws, error) {
  if (error.status === 409 && ws.lease) {
    // The lease is gone (expired and given away, or already answered): move on, and say why (after the next
    // task is shown: showing it clears the last task's words).
    dropDraft(ws, ws.lease.assignment.id);
    try {
      await loadNext(ws);
    } catch (next) {
      fail(next);
      return;
    }
    fail(error);
  } else if (error.problem && error.problem.errors) {
    ws.errors = errorsByPart(error.problem.errors);
    if (ws.errors.general.length) fail(new Error(ws.errors.general.join("\n")));
    else fail(error);
  } else {
    fail(error);
  }
}

/** Why the answer cannot be sent yet (a note key), or null. */
function notReady(ws) {
  if (ws.stage.drawing()) return "ws.finishShape";
  if (ws.parts.objects && isImage(ws) && !ws.image) return "ws.cannotAnswer";
  return problem(doc(ws), ws.schema);
}

export function submit(ws) {
  if (!ws.lease || ws.busy) return;
  document.activeElement?.blur?.(); // an attribute being typed commits on change: before the answer is read
  const why = notReady(ws);
  if (why) {
    note(why);
    return;
  }
  const { id } = ws.lease.assignment;
  if (ws.leadTime === null) ws.leadTime = Math.round(performance.now() - ws.shownAt);
  const body = { result: toResult(doc(ws), ws.schema), lead_time_ms: ws.leadTime };
  if (ws.lease.revision) {
    // The answer's time is the work in all: the first answer's and this revision's.
    return revise(ws, { ...body, lead_time_ms: (ws.lease.revision.lead_time_ms || 0) + ws.leadTime });
  }
  // A retried submit (a dropped connection) must not answer twice: one key per assignment.
  return act(ws, () => api.post(`/api/v1/assignments/${id}/annotation`, body, { "Idempotency-Key": `assignment-${id}` }),
    { after: () => { dropDraft(ws, id); refreshWallet(ws); } });
}

// A revision replaces the answer in place (PUT); then back to the list of your answers. A task completed in
// the meantime (409 task_completed) says so and keeps the answer on screen.
async function revise(ws, body) {
  ws.busy = true;
  setReady(false);
  $("submit").disabled = true;
  try {
    await api.put(`/api/v1/annotations/${ws.lease.revision.id}`, body);
    dropDraft(ws, ws.lease.assignment.id);
    note("ws.revised");
    window.location.assign(`/projects/${ws.projectId}/answers?revised=${ws.lease.revision.id}`);
  } catch (error) {
    if (error.problem && error.problem.errors) ws.errors = errorsByPart(error.problem.errors);
    fail(error);
    $("submit").disabled = false;
    setReady(true);
  } finally {
    ws.busy = false;
  }
}

export function skip(ws) {
  if (!ws.lease || ws.lease.revision) return;
  const { id } = ws.lease.assignment;
  return act(ws, () => api.post(`/api/v1/assignments/${id}/skip`, {}), { after: () => dropDraft(ws, id) });
}

export function openFlag(ws) {
  if (!ws.lease || ws.lease.revision) return;
  $("flag-dialog").returnValue = ""; // Escape closes without setting it: never the last dialog's "flag"
  $("flag-error").hidden = true;
  $("flag-dialog").showModal();
}

export function bindFlag(ws) {
  $("flag-dialog").addEventListener("close", () => {
    if ($("flag-dialog").returnValue !== "flag" || !ws.lease) return;
    const data = new FormData($("flag-form"));
    const { id } = ws.lease.assignment;
    const body = { reason: data.get("reason") };
    if (data.get("note")) body.note = data.get("note");
    $("flag-form").reset();
    act(ws, () => api.post(`/api/v1/assignments/${id}/flag`, body), { after: () => dropDraft(ws, id) });
  });
}
