// The labelling workspace: lease a task, label it (whole item, boxes, polygons, keypoints, text spans), submit
// with Ctrl+Enter and go straight on to the next. Keyboard first: every tool and action has a key (`?` lists
// them), labels are found by typing, the nine recent ones sit on 1-9. Work survives a reload (a local draft
// per lease) and the lease is kept alive while the tab is in use.
import { api } from "../lib/api.js";
import { formatMoney, locale, t } from "../lib/i18n.js";
import { renderMarkdown } from "../lib/markdown.js";
import { showError, startPage } from "../components/chrome.js";
import { countdown, heartbeatEvery, mediaUrl } from "../annotate/workspace.js";
import { ancestors, buildIndex, pushRecent, recentByKey, search } from "../annotate/taxonomy.js";
import { breakCoalescing, canRedo, canUndo, commit, createHistory, redo, undo } from "../annotate/undo.js";
import { DEFAULT_BINDINGS, GROUPS, createKeymap, helpRows, isTypingTarget, match } from "../annotate/shortcuts.js";
import {
  addObject, addSpan, chooseLabel, codePointOffset, draftKey, emptyDocument, errorsByPart, problem, readDraft,
  removeObject, removeSpan, resultParts, setAllHidden, setAttribute, spanRuns, toResult, toggleHidden,
  updateObject, updateSpan,
} from "../annotate/document.js";
import { colorFor, createStage } from "../annotate/stage.js";

const me = await startPage();
const root = document.getElementById("workspace");
const projectId = Number(root.dataset.projectId);
const $ = (id) => document.getElementById(id);
const IMAGE_TOOLS = ["bbox", "polygon", "keypoint"];

function fail(error) { showError($("workspace-error"), error); }
function note(key) {
  $("workspace-note").textContent = t(key);
  $("workspace-note").hidden = false;
}

// An unknown project, or one you may not see, shows the API's words and nothing else.
const project = await api.get(`/api/v1/projects/${projectId}`).catch((error) => { fail(error); return null; });
const schema = project ? project.label_schema : { labels: [], tools: [] };
const parts = resultParts(schema);
const index = buildIndex(schema.labels || []);
const labelOrder = new Map(index.entries.map((entry, i) => [entry.id, i]));
const keymap = createKeymap(DEFAULT_BINDINGS);
const RECENT_KEY = `annotator.recent.${projectId}.${me.id}`;

const state = {
  lease: null, // {assignment, task}
  history: createHistory(emptyDocument()),
  selected: -1, // object index
  selectedSpan: -1,
  tool: "select",
  currentLabel: null, // the label new objects get
  recent: loadRecent(),
  results: [], // label search results
  active: 0, // highlighted result
  shownAt: 0,
  leadTime: null, // fixed at the first submit attempt: a retry must send the same body (Idempotency-Key)
  busy: false,
  errors: errorsByPart({}),
  image: null,
  wallet: null,
};
let beat = null;
let draftTimer = null;

function loadRecent() {
  let saved = [];
  try { saved = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]"); } catch { saved = []; }
  const known = saved.filter((id) => index.byId.has(id));
  // Until nine have been used, the top of the taxonomy fills the number keys.
  for (const entry of index.entries) {
    if (known.length >= 9) break;
    if (!known.includes(entry.id)) known.push(entry.id);
  }
  return known.slice(0, 9);
}

function remember(id) {
  state.recent = pushRecent(state.recent, id, 9);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(state.recent)); } catch { /* private mode */ }
}

const doc = () => state.history.present;
const imageTools = () => (schema.tools || []).filter((tool) => IMAGE_TOOLS.includes(tool));
const isImage = () => Boolean(state.lease && mediaUrl(state.lease.task.data));

// ---- the document and its history -------------------------------------------------------------------------

function edit(next, options = {}) {
  if (next === doc()) return;
  state.history = commit(state.history, next, options);
  state.errors = errorsByPart({}); // the server's words were about the answer as it was
  $("workspace-note").hidden = true;
  afterEdit();
}

function afterEdit() {
  if (state.selected >= doc().objects.length) state.selected = doc().objects.length - 1;
  if (state.selectedSpan >= doc().spans.length) state.selectedSpan = -1;
  saveDraftSoon();
  renderPanels();
  stage.paint();
}

function saveDraftSoon() {
  clearTimeout(draftTimer);
  const lease = state.lease;
  draftTimer = setTimeout(() => {
    if (!lease) return;
    try { localStorage.setItem(draftKey(lease.assignment.id), JSON.stringify(doc())); } catch { /* full */ }
  }, 250);
}

function dropDraft(assignmentId) {
  clearTimeout(draftTimer);
  try { localStorage.removeItem(draftKey(assignmentId)); } catch { /* nothing kept */ }
}

// ---- the stage (images) -----------------------------------------------------------------------------------

const stage = createStage($("stage"), {
  doc,
  commit: (next) => { edit(next); state.history = breakCoalescing(state.history); },
  updateObject,
  selected: () => state.selected,
  select: (i) => { state.selected = i; renderPanels(); },
  tool: () => state.tool,
  currentLabel: () => state.currentLabel,
  labelOrder: () => labelOrder,
  imageSize: () => ({ width: state.image ? state.image.naturalWidth : 0, height: state.image ? state.image.naturalHeight : 0 }),
  addObject: (object) => {
    edit(addObject(doc(), object));
    state.selected = doc().objects.length - 1;
    renderPanels();
    if (!object.label) openSearch(); // a new object wants its label: type it
  },
});
window.annotatorStage = stage; // for the browser tests: image points to page points

// ---- label picker -----------------------------------------------------------------------------------------

function labelName(id) {
  const entry = index.byId.get(id);
  return entry ? entry.name : id;
}

function labelPath(id) {
  const entry = index.byId.get(id);
  return entry ? entry.pathText : id;
}

function openSearch() {
  $("label-search").focus();
  $("label-search").select();
  runSearch();
}

function runSearch() {
  state.results = search(index, $("label-search").value, 30);
  state.active = 0;
  renderResults();
}

function renderResults() {
  const list = $("label-results");
  const focused = document.activeElement === $("label-search");
  list.replaceChildren(...state.results.map((entry, i) => {
    const item = document.createElement("li");
    item.role = "option";
    item.id = `label-option-${i}`;
    item.className = i === state.active ? "active" : "";
    item.setAttribute("aria-selected", String(i === state.active));
    item.dataset.labelId = entry.id;
    const name = document.createElement("span");
    name.className = "swatch-name";
    name.style.setProperty("--swatch", colorFor(entry.id, labelOrder));
    name.textContent = entry.name;
    const path = document.createElement("span");
    path.className = "muted small";
    path.textContent = entry.path.length > 1 ? entry.pathText : entry.id;
    item.append(name, path);
    item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(entry.id); });
    return item;
  }));
  list.hidden = !focused || state.results.length === 0;
  $("label-search").setAttribute("aria-expanded", String(!list.hidden));
  if (!list.hidden) $("label-search").setAttribute("aria-activedescendant", `label-option-${state.active}`);
  const highlighted = state.results[state.active];
  const parents = highlighted ? ancestors(index, highlighted.id) : [];
  const parentChoice = $("parent-choice");
  parentChoice.replaceChildren();
  parentChoice.hidden = !focused || parents.length === 0;
  if (parents.length) {
    const [before, after] = t("ws.chooseParent", { path: "\u0000" }).split("\u0000");
    parentChoice.append(before);
    parents.forEach((parent, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chip";
      button.dataset.labelId = parent.id;
      button.textContent = parent.name;
      button.addEventListener("mousedown", (event) => { event.preventDefault(); choose(parent.id); });
      if (i) parentChoice.append(" › ");
      parentChoice.append(button);
    });
    parentChoice.append(after || "");
  }
}

function renderRecent() {
  $("recent").replaceChildren(...state.recent.map((id, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chip" + (id === state.currentLabel ? " current" : "");
    button.dataset.labelId = id;
    button.title = labelPath(id);
    const key = document.createElement("kbd");
    key.textContent = String(i + 1);
    button.append(key, ` ${labelName(id)}`);
    button.addEventListener("click", () => choose(id));
    return button;
  }));
}

// Choosing a label: it names the selected object or span; else, on a classification task, it is the whole
// item's label; and it becomes the label new objects get.
function choose(id) {
  remember(id);
  state.currentLabel = id;
  if (state.selectedSpan >= 0) {
    edit(updateSpan(doc(), state.selectedSpan, { label: id }));
  } else if (state.selected >= 0 && doc().objects[state.selected]) {
    edit(updateObject(doc(), state.selected, { label: id }));
  } else if (parts.labels) {
    edit(chooseLabel(doc(), id, schema.multi_label));
  }
  $("label-search").value = "";
  $("label-search").blur();
  focusWork();
  renderPanels();
}

function focusWork() {
  if (isImage()) $("stage").focus();
  else $("task-text").focus();
}

$("label-search").addEventListener("input", runSearch);
$("label-search").addEventListener("focus", runSearch);
$("label-search").addEventListener("blur", () => { $("label-results").hidden = true; $("parent-choice").hidden = true; });
$("label-search").addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    state.active = Math.max(0, Math.min(state.results.length - 1, state.active + step));
    renderResults();
  } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    const entry = state.results[state.active];
    if (entry) choose(entry.id);
  } else if (event.key === "Escape") {
    event.preventDefault();
    $("label-search").value = "";
    $("label-search").blur();
    focusWork();
  }
});

// ---- side panels ------------------------------------------------------------------------------------------

function renderPanels() {
  renderRecent();
  renderTools();
  const current = doc();
  $("classify-panel").hidden = !parts.labels;
  if (parts.labels) {
    $("labels").replaceChildren(...current.labels.map((id) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip current";
      chip.dataset.labelId = id;
      chip.title = labelPath(id);
      chip.textContent = `${labelName(id)} ×`;
      chip.addEventListener("click", () => edit(chooseLabel(doc(), id, true)));
      return chip;
    }));
    $("labels-error").textContent = state.errors.labels.join(" ");
    $("labels-error").hidden = state.errors.labels.length === 0;
  }
  const image = isImage() && parts.objects;
  $("objects-panel").hidden = !image;
  if (image) renderObjects(current);
  const text = !isImage() && parts.spans;
  $("spans-panel").hidden = !text;
  if (!isImage()) renderText(current);
  $("submit").disabled = state.busy || problem(current, schema) !== null;
  for (const button of document.querySelectorAll("[data-action=undo]")) button.disabled = !canUndo(state.history);
  for (const button of document.querySelectorAll("[data-action=redo]")) button.disabled = !canRedo(state.history);
}

function renderObjects(current) {
  $("objects").replaceChildren(...current.objects.map((object, i) => {
    const item = document.createElement("li");
    item.className = (i === state.selected ? "selected " : "") + (object.hidden ? "hidden-object" : "");
    item.dataset.index = String(i);
    const name = document.createElement("button");
    name.type = "button";
    name.className = "link swatch-name";
    name.style.setProperty("--swatch", colorFor(object.label, labelOrder));
    name.textContent = `${t(`ws.tool.${object.tool}`)} · ${object.label ? labelName(object.label) : t("ws.noLabel")}`;
    name.title = object.label ? labelPath(object.label) : "";
    name.addEventListener("click", () => { state.selected = i; state.selectedSpan = -1; renderPanels(); stage.paint(); });
    const hide = document.createElement("button");
    hide.type = "button";
    hide.className = "link small";
    hide.textContent = object.hidden ? t("ws.show") : t("ws.hide");
    hide.addEventListener("click", () => edit(toggleHidden(doc(), i)));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link small danger";
    remove.textContent = t("ws.delete");
    remove.addEventListener("click", () => { edit(removeObject(doc(), i)); state.selected = -1; renderPanels(); });
    item.append(name, hide, remove);
    explain(item, state.errors.objects[i]);
    return item;
  }));
  $("no-objects").hidden = current.objects.length > 0;
  renderAttributes(current);
}

// The server's words about an object or span, under it.
function explain(item, problems) {
  if (!problems) return;
  const why = document.createElement("p");
  why.className = "error small";
  why.textContent = problems.join(" ");
  item.append(why);
}

function renderAttributes(current) {
  const box = $("attributes");
  const object = current.objects[state.selected];
  const attributes = schema.attributes || [];
  box.replaceChildren();
  box.hidden = !object || attributes.length === 0;
  if (box.hidden) return;
  const heading = document.createElement("h3");
  heading.textContent = t("ws.attributes");
  box.append(heading);
  for (const attribute of attributes) {
    const label = document.createElement("label");
    label.className = "inline";
    const value = (object.attributes || {})[attribute.name];
    let input;
    if (attribute.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = value === true;
      input.addEventListener("change", () => edit(setAttribute(doc(), state.selected, attribute.name, input.checked || undefined)));
    } else if (attribute.type === "choice") {
      input = document.createElement("select");
      for (const option of ["", ...(attribute.options || [])]) {
        const element = document.createElement("option");
        element.value = option;
        element.textContent = option || "—";
        element.selected = option === (value ?? "");
        input.append(element);
      }
      input.addEventListener("change", () => edit(setAttribute(doc(), state.selected, attribute.name, input.value)));
    } else {
      input = document.createElement("input");
      input.type = attribute.type === "number" ? "number" : "text";
      input.value = value ?? "";
      input.addEventListener("change", () => {
        const raw = input.value;
        edit(setAttribute(doc(), state.selected, attribute.name, attribute.type === "number" && raw !== "" ? Number(raw) : raw));
      });
    }
    input.name = `attribute-${attribute.name}`;
    const name = document.createElement("span");
    name.textContent = attribute.name;
    label.append(name, input);
    box.append(label);
  }
}

function renderText(current) {
  const text = typeof state.lease?.task.data.text === "string" ? state.lease.task.data.text : JSON.stringify(state.lease?.task.data ?? "");
  const host = $("task-text");
  if (!parts.spans) {
    host.textContent = text;
    return;
  }
  host.replaceChildren(...spanRuns(text, current.spans).map((run) => {
    if (!run.spans.length) return document.createTextNode(run.text);
    const mark = document.createElement("mark");
    const top = run.spans[run.spans.length - 1];
    mark.dataset.span = String(top);
    mark.style.setProperty("--swatch", colorFor(current.spans[top].label, labelOrder));
    if (run.spans.includes(state.selectedSpan)) mark.className = "selected";
    mark.textContent = run.text;
    mark.title = run.spans.map((i) => (current.spans[i].label ? labelPath(current.spans[i].label) : t("ws.noLabel"))).join(" · ");
    return mark;
  }));
  $("spans").replaceChildren(...current.spans.map((span, i) => {
    const item = document.createElement("li");
    item.className = i === state.selectedSpan ? "selected" : "";
    item.dataset.index = String(i);
    const name = document.createElement("button");
    name.type = "button";
    name.className = "link swatch-name";
    name.style.setProperty("--swatch", colorFor(span.label, labelOrder));
    name.textContent = `“${Array.from(text).slice(span.start, span.end).join("")}” · ${span.label ? labelName(span.label) : t("ws.noLabel")}`;
    name.addEventListener("click", () => { state.selectedSpan = i; renderPanels(); });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link small danger";
    remove.textContent = t("ws.delete");
    remove.addEventListener("click", () => { state.selectedSpan = -1; edit(removeSpan(doc(), i)); });
    item.append(name, remove);
    explain(item, state.errors.spans[i]);
    return item;
  }));
}

// A text selection inside the task becomes a span (code points, as the API counts them).
$("task-text").addEventListener("mouseup", () => {
  if (!parts.spans || !state.lease) return;
  const selection = window.getSelection();
  const host = $("task-text");
  if (!selection.rangeCount || selection.isCollapsed) {
    const mark = selection.anchorNode && selection.anchorNode.parentElement?.closest("mark");
    if (mark) { state.selectedSpan = Number(mark.dataset.span); renderPanels(); }
    return;
  }
  const range = selection.getRangeAt(0);
  if (!host.contains(range.startContainer) || !host.contains(range.endContainer)) return;
  const offset = (container, at) => {
    const before = document.createRange();
    before.setStart(host, 0);
    before.setEnd(container, at);
    return before.toString().length;
  };
  const text = host.textContent;
  const start = codePointOffset(text, offset(range.startContainer, range.startOffset));
  const end = codePointOffset(text, offset(range.endContainer, range.endOffset));
  selection.removeAllRanges();
  const next = addSpan(doc(), start, end, state.currentLabel);
  if (next === doc()) return;
  edit(next);
  state.selectedSpan = doc().spans.findIndex((s) => s.start === start && s.end === end);
  state.selected = -1;
  renderPanels();
  if (!state.currentLabel) openSearch();
});

function renderTools() {
  const tools = isImage() ? ["select", ...imageTools()] : [];
  const host = $("tools");
  if (host.dataset.tools !== tools.join(",")) {
    host.dataset.tools = tools.join(",");
    host.replaceChildren(...tools.map((tool) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.tool = tool;
      button.textContent = t(`ws.tool.${tool}`);
      button.addEventListener("click", () => setTool(tool));
      return button;
    }));
  }
  for (const button of host.querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.dataset.tool === state.tool));
  for (const element of document.querySelectorAll(".image-only")) element.hidden = !isImage();
}

function setTool(tool) {
  if (tool !== "select" && !imageTools().includes(tool)) return;
  stage.cancel();
  state.tool = tool;
  $("stage").dataset.tool = tool;
  renderTools();
}

// ---- the task, the lease, the wallet ----------------------------------------------------------------------

function show(panel) {
  for (const id of ["task-panel", "done-panel"]) $(id).hidden = id !== panel;
}

function setReady(ready) {
  root.dataset.state = ready ? "ready" : "working";
}

async function renderTask() {
  const { task, assignment } = state.lease;
  $("task-content").dataset.taskId = String(task.id);
  const restored = readDraft(localStorage.getItem(draftKey(assignment.id)) || "null");
  state.history = createHistory(restored || emptyDocument());
  state.selected = -1;
  state.selectedSpan = -1;
  state.errors = errorsByPart({});
  $("workspace-note").hidden = true;
  if (restored) note("ws.draftRestored");
  const src = mediaUrl(task.data);
  $("stage-host").hidden = !src;
  $("text-host").hidden = Boolean(src);
  if (src) {
    const image = new Image();
    image.decoding = "async";
    image.src = src;
    try {
      await image.decode();
      state.image = image;
      stage.setImage(image);
    } catch {
      state.image = null; // nothing can be drawn on it: skip or flag it
      stage.setImage(null);
      fail(new Error(t("ws.imageFailed")));
    }
    if (state.tool === "select" && imageTools().length && !doc().objects.length) setTool(imageTools()[0]);
  } else {
    state.image = null;
  }
  state.shownAt = performance.now();
  state.leadTime = null;
  renderPanels();
  tick();
  focusWork();
}

function tick() {
  if (!state.lease) {
    $("countdown").textContent = "";
    return;
  }
  const left = countdown(state.lease.assignment.expires_at, Date.now());
  $("countdown").textContent = left ? t("ws.lease", { left }) : t("ws.leaseExpired");
  $("countdown").classList.toggle("error", !left);
}

async function heartbeat() {
  if (!state.lease || document.hidden) return;
  try {
    const renewed = await api.post(`/api/v1/assignments/${state.lease.assignment.id}/heartbeat`);
    state.lease.assignment.expires_at = renewed.expires_at;
  } catch (error) {
    if (error.status === 409) tick(); else fail(error);
  }
}

async function refreshWallet() {
  try {
    state.wallet = await api.get("/api/v1/wallet");
  } catch {
    return;
  }
  const pending = $("pending");
  pending.hidden = !(project.rewards && project.rewards.per_annotation);
  const { currency } = state.wallet;
  pending.textContent = t("ws.pending", { pending: formatMoney(state.wallet.pending, currency),
    available: formatMoney(state.wallet.balance, currency) });
  pending.dataset.pending = String(state.wallet.pending);
  pending.dataset.earned = String(state.wallet.pending + state.wallet.balance);
}

async function loadNext() {
  $("workspace-error").hidden = true;
  clearInterval(beat);
  state.lease = null; // the last task is done with, whatever /next answers
  state.lease = await api.post(`/api/v1/projects/${projectId}/next`);
  if (state.lease === null) {
    tick();
    show("done-panel");
    return;
  }
  show("task-panel");
  await renderTask();
  beat = setInterval(heartbeat, heartbeatEvery(project.lease_seconds));
}

async function act(work, { after } = {}) {
  if (state.busy || !state.lease) return;
  state.busy = true;
  setReady(false);
  $("submit").disabled = $("skip").disabled = true;
  try {
    await work();
    if (after) after();
    await loadNext();
  } catch (error) {
    if (error.status === 409 && state.lease) {
      // The lease is gone (expired and given away, or already answered): say so, and move on.
      dropDraft(state.lease.assignment.id);
      fail(error);
      try {
        await loadNext();
      } catch (next) {
        fail(next);
      }
    } else if (error.problem && error.problem.errors) {
      state.errors = errorsByPart(error.problem.errors);
      if (state.errors.general.length) fail(new Error(state.errors.general.join("\n")));
      else fail(error);
    } else {
      fail(error);
    }
  } finally {
    state.busy = false;
    $("skip").disabled = false;
    if (state.lease) renderPanels();
    setReady(Boolean(state.lease));
  }
}

function submit() {
  if (!state.lease || state.busy) return;
  document.activeElement?.blur?.(); // an attribute being typed commits on change: before the answer is read
  if (stage.drawing()) {
    note("ws.finishShape");
    return;
  }
  if (parts.objects && isImage() && !state.image) {
    note("ws.cannotAnswer");
    return;
  }
  const why = problem(doc(), schema);
  if (why) {
    note(why);
    return;
  }
  const { id } = state.lease.assignment;
  if (state.leadTime === null) state.leadTime = Math.round(performance.now() - state.shownAt);
  const body = { result: toResult(doc(), schema), lead_time_ms: state.leadTime };
  // A retried submit (a dropped connection) must not answer twice: one key per assignment.
  return act(() => api.post(`/api/v1/assignments/${id}/annotation`, body, { "Idempotency-Key": `assignment-${id}` }),
    { after: () => { dropDraft(id); refreshWallet(); } });
}

function skip() {
  if (!state.lease) return;
  const { id } = state.lease.assignment;
  return act(() => api.post(`/api/v1/assignments/${id}/skip`, {}), { after: () => dropDraft(id) });
}

function openFlag() {
  if (!state.lease) return;
  $("flag-dialog").returnValue = ""; // Escape closes without setting it: never the last dialog's "flag"
  $("flag-error").hidden = true;
  $("flag-dialog").showModal();
}

$("flag-dialog").addEventListener("close", () => {
  if ($("flag-dialog").returnValue !== "flag" || !state.lease) return;
  const data = new FormData($("flag-form"));
  const { id } = state.lease.assignment;
  const body = { reason: data.get("reason") };
  if (data.get("note")) body.note = data.get("note");
  $("flag-form").reset();
  act(() => api.post(`/api/v1/assignments/${id}/flag`, body), { after: () => dropDraft(id) });
});

function openHelp() {
  const lang = locale() === "zh-CN" ? "zh" : "en";
  const rows = [];
  let group = null;
  for (const row of helpRows(keymap, lang)) {
    const recent = /^recent(\d)$/.exec(row.action || "");
    if (recent && recent[1] !== "1") continue; // 1-9 share one row
    if (row.group !== group) {
      group = row.group;
      const heading = document.createElement("tr");
      const th = document.createElement("th");
      th.colSpan = 2;
      th.textContent = groupTitle(group, lang);
      heading.append(th);
      rows.push(heading);
    }
    const tr = document.createElement("tr");
    const keys = document.createElement("td");
    for (const key of recent ? ["1", "…", "9"] : row.keys) {
      if (key === "…") { keys.append(" … "); continue; }
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      keys.append(kbd, " ");
    }
    const what = document.createElement("td");
    what.textContent = recent ? t("ws.recent") : row.description;
    tr.append(keys, what);
    rows.push(tr);
  }
  $("help-rows").replaceChildren(...rows);
  $("help-dialog").showModal();
}

function groupTitle(group, lang) {
  const found = GROUPS.find((g) => (g.id || g.name) === group);
  if (!found) return group;
  return found[lang] || found.en || group;
}

// ---- keys and buttons -------------------------------------------------------------------------------------

function cycleObject(step) {
  const count = doc().objects.length;
  if (!count) return;
  state.selected = state.selected < 0 ? (step > 0 ? 0 : count - 1) : (state.selected + step + count) % count;
  renderPanels();
  stage.paint();
}

function deleteSelected() {
  if (state.selectedSpan >= 0) {
    const i = state.selectedSpan;
    state.selectedSpan = -1;
    edit(removeSpan(doc(), i));
  } else if (state.selected >= 0) {
    const i = state.selected;
    state.selected = -1;
    edit(removeObject(doc(), i));
  }
}

const actions = {
  select: () => setTool("select"),
  bbox: () => setTool("bbox"),
  polygon: () => setTool("polygon"),
  keypoint: () => setTool("keypoint"),
  span: () => {},
  hide: () => { if (state.selected >= 0) edit(toggleHidden(doc(), state.selected)); },
  hideAll: () => edit(setAllHidden(doc(), !doc().objects.every((o) => o.hidden))),
  delete: () => { if (!stage.undoPoint()) deleteSelected(); },
  undo: () => { state.history = undo(state.history); state.selected = state.selectedSpan = -1; afterEdit(); },
  redo: () => { state.history = redo(state.history); state.selected = state.selectedSpan = -1; afterEdit(); },
  submit,
  skip,
  flag: openFlag,
  zoomIn: () => stage.zoom(1.25),
  zoomOut: () => stage.zoom(0.8),
  fit: () => stage.fit(),
  search: openSearch,
  cancel: () => {
    if (!stage.cancel()) { state.selected = -1; state.selectedSpan = -1; renderPanels(); stage.paint(); }
  },
  nextObject: () => cycleObject(1),
  previousObject: () => cycleObject(-1),
  help: openHelp,
};

document.addEventListener("keydown", (event) => {
  if (!state.lease || $("help-dialog").open || $("flag-dialog").open) return;
  const typing = isTypingTarget(event.target);
  const action = match(keymap, event);
  // Tab walks the objects only on the canvas, and only when there are some: elsewhere it moves the focus.
  if ((action === "nextObject" || action === "previousObject") &&
      (event.target !== $("stage") || !doc().objects.length)) return;
  if (!action) {
    if (event.key === "Enter" && stage.drawing()) { event.preventDefault(); stage.finishPolygon(); }
    return;
  }
  // While typing, only the submit combination acts (Ctrl+Enter in the search box submits too).
  if (typing && action !== "submit") return;
  if (state.busy) { event.preventDefault(); return; } // the answer is on its way: no edits to a task being left
  const recent = /^recent(\d)$/.exec(action);
  event.preventDefault();
  if (recent) {
    const id = recentByKey(state.recent, recent[1]);
    if (id) choose(id);
  } else if (action === "span" && !isImage()) {
    $("task-text").focus();
  } else if (actions[action]) {
    actions[action]();
  }
});

for (const button of document.querySelectorAll("[data-action]")) {
  button.addEventListener("click", () => actions[button.dataset.action]());
}
$("submit").addEventListener("click", submit);
$("skip").addEventListener("click", skip);
$("flag").addEventListener("click", openFlag);
$("help-button").addEventListener("click", openHelp);
setInterval(tick, 1000);

// ---- start ------------------------------------------------------------------------------------------------

if (project) {
  $("project-name").textContent = project.name;
  if (project.instructions) {
    renderMarkdown($("instructions"), project.instructions);
    $("instructions").closest("details").hidden = false;
  }
  try {
    refreshWallet();
    await loadNext();
  } catch (error) {
    fail(error);
  }
  setReady(Boolean(state.lease));
}
