// Keys and toolbar buttons: one table of actions (annotate/shortcuts.js maps keys to their names).
import { match, isTypingTarget } from "../../annotate/shortcuts.js";
import { recentByKey } from "../../annotate/taxonomy.js";
import { removeObject, removeSpan, setAllHidden, toggleHidden } from "../../annotate/document.js";
import { $ } from "./dom.js";
import { edit, redoEdit, undoEdit } from "./edit.js";
import { openFlag, skip, submit } from "./answer.js";
import { openHelp } from "./help.js";
import { choose, openSearch } from "./picker.js";
import { doc, isImage } from "./state.js";
import { setTool } from "./toolbar.js";

function actions(ws) {
  return {
    select: () => setTool(ws, "select"),
    bbox: () => setTool(ws, "bbox"),
    polygon: () => setTool(ws, "polygon"),
    keypoint: () => setTool(ws, "keypoint"),
    span: () => {},
    hide: () => { if (ws.selected >= 0) edit(ws, toggleHidden(doc(ws), ws.selected)); },
    hideAll: () => edit(ws, setAllHidden(doc(ws), !doc(ws).objects.every((o) => o.hidden))),
    delete: () => { if (!ws.stage.undoPoint()) deleteSelected(ws); },
    undo: () => undoEdit(ws),
    redo: () => redoEdit(ws),
    submit: () => submit(ws),
    skip: () => skip(ws),
    flag: () => openFlag(ws),
    zoomIn: () => ws.stage.zoom(1.25),
    zoomOut: () => ws.stage.zoom(0.8),
    fit: () => ws.stage.fit(),
    search: () => openSearch(ws),
    cancel: () => { if (!ws.stage.cancel()) deselect(ws); },
    nextObject: () => cycleObject(ws, 1),
    previousObject: () => cycleObject(ws, -1),
    help: () => openHelp(ws),
  };
}

function deselect(ws) {
  ws.selected = -1;
  ws.selectedSpan = -1;
  ws.render();
  ws.stage.paint();
}

function cycleObject(ws, step) {
  const count = doc(ws).objects.length;
  if (!count) return;
  ws.selected = ws.selected < 0 ? (step > 0 ? 0 : count - 1) : (ws.selected + step + count) % count;
  ws.render();
  ws.stage.paint();
}

function deleteSelected(ws) {
  if (ws.selectedSpan >= 0) {
    const i = ws.selectedSpan;
    ws.selectedSpan = -1;
    edit(ws, removeSpan(doc(ws), i));
  } else if (ws.selected >= 0) {
    const i = ws.selected;
    ws.selected = -1;
    edit(ws, removeObject(doc(ws), i));
  }
}

function onKeydown(ws, act, event) {
  if (!ws.lease || $("help-dialog").open || $("flag-dialog").open) return;
  const typing = isTypingTarget(event.target);
  const action = match(ws.keymap, event);
  // Tab walks the objects only on the canvas, and only when there are some: elsewhere it moves the focus.
  if ((action === "nextObject" || action === "previousObject") &&
      (event.target !== $("stage") || !doc(ws).objects.length)) return;
  if (!action) {
    if (event.key === "Enter" && ws.stage.drawing()) { event.preventDefault(); ws.stage.finishPolygon(); }
    return;
  }
  // While typing, only the submit combination acts (Ctrl+Enter in the search box submits too).
  if (typing && action !== "submit") return;
  if (ws.busy) { event.preventDefault(); return; } // the answer is on its way: no edits to a task being left
  const recent = /^recent(\d)$/.exec(action);
  event.preventDefault();
  if (recent) {
    const id = recentByKey(ws.recent, recent[1]);
    if (id) choose(ws, id);
  } else if (action === "span" && !isImage(ws)) {
    $("task-text").focus();
  } else if (act[action]) {
    act[action]();
  }
}

export function bindKeys(ws) {
  const act = actions(ws);
  document.addEventListener("keydown", (event) => onKeydown(ws, act, event));
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => act[button.dataset.action]());
  }
  $("submit").addEventListener("click", act.submit);
  $("skip").addEventListener("click", act.skip);
  $("flag").addEventListener("click", act.flag);
  $("help-button").addEventListener("click", act.help);
}
