// The label picker: type to search the taxonomy (arrows and Enter choose, a parent can be chosen instead),
// or take one of the nine recent labels (keys 1-9). A chosen label names the selected object or span; else,
// on a classification task, it is the whole item's label; and it becomes the label new objects get.
import { t } from "../../lib/i18n.js";
import { ancestors, matchedName, search } from "../../annotate/taxonomy.js";
import { chooseLabel, updateObject, updateSpan } from "../../annotate/document.js";
import { colorFor } from "../../annotate/stage.js";
import { $, focusWork } from "./dom.js";
import { edit } from "./edit.js";
import { doc, labelName, labelPath, remember } from "./state.js";

const RESULTS = 30;

export function choose(ws, id) {
  remember(ws, id);
  ws.currentLabel = id;
  if (ws.selectedSpan >= 0) {
    edit(ws, updateSpan(doc(ws), ws.selectedSpan, { label: id }));
  } else if (ws.selected >= 0 && doc(ws).objects[ws.selected]) {
    edit(ws, updateObject(doc(ws), ws.selected, { label: id }));
  } else if (ws.parts.labels) {
    edit(ws, chooseLabel(doc(ws), id, ws.schema.multi_label));
  }
  $("label-search").value = "";
  $("label-search").blur();
  focusWork(ws);
  ws.render();
}

export function openSearch(ws) {
  $("label-search").focus();
  $("label-search").select();
  runSearch(ws);
}

function runSearch(ws) {
  ws.results = search(ws.index, $("label-search").value, RESULTS);
  ws.active = 0;
  renderResults(ws);
}

function renderResults(ws) {
  const list = $("label-results");
  const focused = document.activeElement === $("label-search");
  list.replaceChildren(...ws.results.map((entry, i) => resultItem(ws, entry, i)));
  list.hidden = !focused || ws.results.length === 0;
  $("label-search").setAttribute("aria-expanded", String(!list.hidden));
  if (!list.hidden) $("label-search").setAttribute("aria-activedescendant", `label-option-${ws.active}`);
  renderParentChoice(ws, focused);
}

function resultItem(ws, entry, i) {
  const item = document.createElement("li");
  item.role = "option";
  item.id = `label-option-${i}`;
  item.className = i === ws.active ? "active" : "";
  item.setAttribute("aria-selected", String(i === ws.active));
  item.dataset.labelId = entry.id;
  const name = document.createElement("span");
  name.className = "swatch-name";
  name.style.setProperty("--swatch", colorFor(entry.id, ws.labelOrder));
  name.textContent = entry.name;
  const path = document.createElement("span");
  path.className = "muted small";
  const where = entry.path.length > 1 ? entry.pathText : entry.id;
  const by = matchedName(entry, $("label-search").value); // found by an alias or a name in another language
  path.textContent = by ? `${by} · ${where}` : where;
  item.append(name, path);
  item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(ws, entry.id); });
  return item;
}

/** "Or choose Birds › Warblers": the highlighted result's ancestors, each a button. */
function renderParentChoice(ws, focused) {
  const highlighted = ws.results[ws.active];
  const parents = highlighted ? ancestors(ws.index, highlighted.id) : [];
  const parentChoice = $("parent-choice");
  parentChoice.replaceChildren();
  parentChoice.hidden = !focused || parents.length === 0;
  if (!parents.length) return;
  const [before, after] = t("ws.chooseParent", { path: "\u0000" }).split("\u0000");
  parentChoice.append(before);
  parents.forEach((parent, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chip";
    button.dataset.labelId = parent.id;
    button.textContent = parent.name;
    button.addEventListener("mousedown", (event) => { event.preventDefault(); choose(ws, parent.id); });
    if (i) parentChoice.append(" › ");
    parentChoice.append(button);
  });
  parentChoice.append(after || "");
}

export function renderRecent(ws) {
  $("recent").hidden = ws.recent.length === 0; // until a label is chosen, nothing is "recent"
  $("recent").replaceChildren(...ws.recent.map((id, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chip" + (id === ws.currentLabel ? " current" : "");
    button.dataset.labelId = id;
    button.title = labelPath(ws, id);
    const key = document.createElement("kbd");
    key.textContent = String(i + 1);
    button.append(key, ` ${labelName(ws, id)}`);
    button.addEventListener("click", () => choose(ws, id));
    return button;
  }));
}

export function bindPicker(ws) {
  const input = $("label-search");
  input.addEventListener("input", () => runSearch(ws));
  input.addEventListener("focus", () => runSearch(ws));
  input.addEventListener("blur", () => { $("label-results").hidden = true; $("parent-choice").hidden = true; });
  input.addEventListener("keydown", (event) => onSearchKey(ws, event));
}

function onSearchKey(ws, event) {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    ws.active = Math.max(0, Math.min(ws.results.length - 1, ws.active + step));
    renderResults(ws);
  } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    const entry = ws.results[ws.active];
    if (entry) choose(ws, entry.id);
  } else if (event.key === "Escape") {
    event.preventDefault();
    $("label-search").value = "";
    $("label-search").blur();
    focusWork(ws);
  }
}
