// Edits to the answer: each goes into the undo history, clears the server's words about the answer as it
// was, is kept as a local draft (per lease, so a reload loses nothing) and redraws the page.
import { commit, redo, undo } from "../../annotate/undo.js";
import { draftKey, errorsByPart } from "../../annotate/document.js";
import { $ } from "./dom.js";
import { doc } from "./state.js";

const DRAFT_DELAY = 250; // ms: a burst of edits is saved once

export function edit(ws, next, options = {}) {
  if (next === doc(ws)) return;
  ws.history = commit(ws.history, next, options);
  ws.errors = errorsByPart({});
  $("workspace-note").hidden = true;
  afterEdit(ws);
}

export function undoEdit(ws) {
  ws.history = undo(ws.history);
  ws.selected = ws.selectedSpan = -1;
  afterEdit(ws);
}

export function redoEdit(ws) {
  ws.history = redo(ws.history);
  ws.selected = ws.selectedSpan = -1;
  afterEdit(ws);
}

function afterEdit(ws) {
  if (ws.selected >= doc(ws).objects.length) ws.selected = doc(ws).objects.length - 1;
  if (ws.selectedSpan >= doc(ws).spans.length) ws.selectedSpan = -1;
  saveDraftSoon(ws);
  ws.render();
  ws.stage.paint();
}

function saveDraftSoon(ws) {
  clearTimeout(ws.draftTimer);
  const lease = ws.lease;
  ws.draftTimer = setTimeout(() => {
    if (!lease) return;
    try { localStorage.setItem(draftKey(lease.assignment.id), JSON.stringify(doc(ws))); } catch { /* full */ }
  }, DRAFT_DELAY);
}

export function dropDraft(ws, assignmentId) {
  clearTimeout(ws.draftTimer);
  try { localStorage.removeItem(draftKey(assignmentId)); } catch { /* nothing kept */ }
}
