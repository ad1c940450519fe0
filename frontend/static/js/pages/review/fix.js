// Fixing an answer: the reviewer starts from the answer's own result and corrects it with the labelling page's
// label picker (pages/label/picker.js: search by name, alias or id, the parent instead, the nine recent labels on
// 1-9). A chosen label names the selected object or span, else it is the whole item's label. Objects and spans
// can be removed (their geometry stays as the annotator drew it). The fix is sent as the verdict "fix".
//
// The picker works on the labelling page's state (pages/label/state.js): the page makes one such state and
// binds the picker to it once; each fix loads its answer into it. Its note line (#workspace-note) and the element
// the picker gives the keyboard back to (#task-text) are in the fix panel.
import { t } from "../../lib/i18n.js";
import { createHistory } from "../../annotate/undo.js";
import { chooseLabel, errorsByPart, fromResult, problem, removeObject, removeSpan, toResult } from "../../annotate/document.js";
import { recentByKey } from "../../annotate/taxonomy.js";
import { colorFor } from "../../annotate/stage.js";
import { createState, labelName, labelPath } from "../label/state.js";
import { bindPicker, choose, openSearch, renderRecent } from "../label/picker.js";
import { edit } from "../label/edit.js";
import { $, element } from "./dom.js";
import { drawItem, nameOf, renderAnswers } from "./item.js";
import { judge } from "./verdicts.js";

/** The picker's state, made once for the page. */
export function bindFix(rv) {
  rv.ws = createState({ me: rv.me, projectId: rv.projectId, project: rv.project });
  rv.ws.stage = { paint: () => drawItem(rv) }; // an edit repaints "the stage": here, the item's overlay
  rv.ws.render = () => renderFix(rv);
  bindPicker(rv.ws);
  $("fix-save").addEventListener("click", () => saveFix(rv));
  $("fix-cancel").addEventListener("click", () => rv.actions.cancel());
}

export function startFix(rv) {
  const answer = rv.item && rv.item.answers[rv.current];
  if (rv.mode !== "review" || !answer || answer.verdict) return;
  const ws = rv.ws;
  const start = fromResult(answer.result);
  // With whole-item labels nothing is selected: a label chosen is the item's (j selects an object or span).
  // Without, the first object or span is: a label chosen renames it.
  const whole = ws.parts.labels;
  Object.assign(ws, { history: createHistory(start), errors: errorsByPart({}), answerId: answer.id,
    userId: answer.user_id, name: nameOf(answer), selected: !whole && start.objects.length ? 0 : -1,
    selectedSpan: !whole && !start.objects.length && start.spans.length ? 0 : -1 });
  rv.fix = ws;
  rv.mode = "fix";
  $("workspace-note").hidden = true;
  $("fix-panel").hidden = false;
  renderAnswers(rv);
  renderFix(rv);
  drawItem(rv);
  $("fix-panel").scrollIntoView?.({ block: "nearest" });
  if (whole) openSearch(ws); // straight to the search
  else $("task-text").focus();
}

/** The fix as it stands: its whole-item labels, its objects or spans with the selected one marked. */
export function renderFix(rv) {
  const ws = rv.fix;
  if (!ws) return;
  const doc = ws.history.present;
  $("fix-title").textContent = t("rv.fixing", { name: ws.name });
  $("fix-labels-host").hidden = !ws.parts.labels;
  $("fix-labels").replaceChildren(...(doc.labels.length ? doc.labels.map((id) => {
    const chip = element("button", "chip");
    chip.type = "button";
    chip.dataset.labelId = id;
    chip.title = t("rv.removeLabel");
    chip.append(`${labelPath(ws, id)} `, element("span", "muted", "×"));
    chip.addEventListener("click", () => edit(ws, chooseLabel(ws.history.present, id, true)));
    return chip;
  }) : [element("span", "muted small", t("rv.noLabel"))]));
  const kind = ws.parts.objects ? "objects" : ws.parts.spans ? "spans" : null;
  $("fix-parts-host").hidden = !kind;
  if (kind) {
    $("fix-parts-title").textContent = t(kind === "objects" ? "ws.objects" : "ws.spans");
    const items = kind === "objects" ? doc.objects : doc.spans;
    const selected = kind === "objects" ? ws.selected : ws.selectedSpan;
    $("fix-parts").replaceChildren(...(items.length ? items.map((part, i) => partItem(rv, kind, part, i, i === selected))
      : [element("li", "muted small", t("rv.nothingDrawn"))]));
  }
  const errors = [...ws.errors.general, ...ws.errors.labels,
    ...Object.values(ws.errors.objects).flat(), ...Object.values(ws.errors.spans).flat()];
  $("fix-error").textContent = errors.join("\n");
  $("fix-error").hidden = errors.length === 0;
  renderRecent(ws);
}

function partItem(rv, kind, part, i, selected) {
  const ws = rv.fix;
  const item = element("li", selected ? "selected" : "");
  item.dataset.index = String(i);
  const text = rv.item.task.data.text;
  const what = kind === "objects" ? t(`pf.tool.${part.tool}`)
    : `“${Array.from(String(text ?? "")).slice(part.start, part.end).join("")}”`;
  const name = element("button", "link swatch-name", `${part.label ? labelName(ws, part.label) : t("ws.noLabel")} · ${what}`);
  name.type = "button";
  name.style.setProperty("--swatch", colorFor(part.label, ws.labelOrder));
  name.title = part.label ? labelPath(ws, part.label) : "";
  name.addEventListener("click", () => select(rv, kind, i));
  const remove = element("button", "link small danger", t("ws.delete"));
  remove.type = "button";
  remove.addEventListener("click", () => removePart(rv, kind, i));
  item.append(name, remove);
  return item;
}

function select(rv, kind, i) {
  const ws = rv.fix;
  if (kind === "objects") ws.selected = i; else ws.selectedSpan = i;
  renderFix(rv);
  drawItem(rv);
  $("task-text").focus();
}

function removePart(rv, kind, i) {
  const ws = rv.fix;
  if (kind === "objects") {
    ws.selected = -1;
    edit(ws, removeObject(ws.history.present, i));
  } else {
    ws.selectedSpan = -1;
    edit(ws, removeSpan(ws.history.present, i));
  }
}

/** The fix's own keys (lib/review.js FIX_BINDINGS); the picker's search box handles its own. */
export function fixKey(rv, action) {
  const ws = rv.fix;
  if (!ws) return;
  const doc = ws.history.present;
  const kind = ws.parts.objects ? "objects" : "spans";
  const count = kind === "objects" ? doc.objects.length : doc.spans.length;
  const at = kind === "objects" ? ws.selected : ws.selectedSpan;
  const recent = /^recent(\d)$/.exec(action || "");
  if (recent) {
    const id = recentByKey(ws.recent, recent[1]);
    if (id) choose(ws, id);
  } else if (action === "search") {
    openSearch(ws);
  } else if ((action === "nextPart" || action === "previousPart") && count) {
    const by = action === "nextPart" ? 1 : -1;
    select(rv, kind, at < 0 ? (by > 0 ? 0 : count - 1) : (at + by + count) % count);
  } else if (action === "remove" && at >= 0) {
    removePart(rv, kind, at);
  } else if (action === "save") {
    saveFix(rv);
  } else if (action === "cancel") {
    if (at >= 0) { // first Escape: nothing selected, so a label names the whole item
      ws.selected = ws.selectedSpan = -1;
      renderFix(rv);
      drawItem(rv);
    } else {
      rv.actions.cancel();
    }
  }
}

export async function saveFix(rv) {
  const ws = rv.fix;
  if (!ws || rv.busy) return;
  document.activeElement?.blur?.();
  const why = problem(ws.history.present, ws.schema);
  if (why) {
    $("workspace-note").textContent = t(why);
    $("workspace-note").hidden = false;
    $("task-text").focus();
    return;
  }
  await judge(rv, { verdict: "fix", result: toResult(ws.history.present, ws.schema) }, { onRefused: (error) => {
    ws.errors = errorsByPart((error.problem && error.problem.errors) || {});
    if (!error.problem || !error.problem.errors) ws.errors.general.push(error.message);
    renderFix(rv);
    $("task-text").focus();
  } });
}
