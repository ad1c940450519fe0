// Every panel redrawn from the state: recent labels, tools, the whole item's labels, the objects or the
// text and its spans, and the buttons that depend on the answer.
import { canRedo, canUndo } from "../../annotate/undo.js";
import { chooseLabel, problem } from "../../annotate/document.js";
import { $ } from "./dom.js";
import { edit } from "./edit.js";
import { renderObjects } from "./objects.js";
import { renderRecent } from "./picker.js";
import { doc, isImage, labelName, labelPath } from "./state.js";
import { renderText } from "./text.js";
import { renderTools } from "./toolbar.js";

export function renderPanels(ws) {
  renderRecent(ws);
  renderTools(ws);
  const current = doc(ws);
  renderClassify(ws, current);
  const image = isImage(ws) && ws.parts.objects;
  $("objects-panel").hidden = !image;
  if (image) renderObjects(ws, current);
  $("spans-panel").hidden = !(!isImage(ws) && ws.parts.spans);
  if (!isImage(ws)) renderText(ws, current);
  $("submit").disabled = ws.busy || problem(current, ws.schema) !== null;
  for (const button of document.querySelectorAll("[data-action=undo]")) button.disabled = !canUndo(ws.history);
  for (const button of document.querySelectorAll("[data-action=redo]")) button.disabled = !canRedo(ws.history);
}

/** The whole item's labels as chips (a click takes one off) and the server's words about them. */
function renderClassify(ws, current) {
  $("classify-panel").hidden = !ws.parts.labels;
  if (!ws.parts.labels) return;
  $("labels").replaceChildren(...current.labels.map((id) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip current";
    chip.dataset.labelId = id;
    chip.title = labelPath(ws, id);
    chip.textContent = `${labelName(ws, id)} ×`;
    chip.addEventListener("click", () => edit(ws, chooseLabel(doc(ws), id, true)));
    return chip;
  }));
  $("labels-error").textContent = ws.errors.labels.join(" ");
  $("labels-error").hidden = ws.errors.labels.length === 0;
}
