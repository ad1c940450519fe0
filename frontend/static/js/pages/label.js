// The labelling workspace: next task, choose labels, submit (Ctrl+Enter) and straight on to the next one.
import { api } from "../lib/api.js";
import { countdown, heartbeatEvery, labelChoices, mediaUrl, supports, toggleLabel } from "../annotate/workspace.js";

const root = document.getElementById("workspace");
const projectId = Number(root.dataset.projectId);
const $ = (id) => document.getElementById(id);

function fail(error) {
  $("workspace-error").textContent = error.message;
  $("workspace-error").hidden = false;
}

// An unknown project, or one you may not see, shows the API's words and nothing else.
const project = await api.get(`/api/v1/projects/${projectId}`).catch((error) => { fail(error); return null; });
const schema = project ? project.label_schema : { labels: [], tools: [] };
const choices = labelChoices(schema);
let lease = null;       // the current {assignment, task}
let selected = [];
let shownAt = 0;
let busy = false;
let beat = null;

$("project-name").textContent = project ? project.name : "";
$("instructions").textContent = project ? project.instructions : "";
$("instructions").closest("details").hidden = !(project && project.instructions);

function show(state) {
  for (const id of ["task-panel", "done-panel", "unsupported-panel"]) $(id).hidden = id !== state;
}

function renderLabels() {
  const list = $("labels");
  list.replaceChildren();
  choices.forEach((choice, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "label-choice" + (selected.includes(choice.id) ? " selected" : "");
    button.dataset.labelId = choice.id;
    button.style.marginLeft = `${choice.depth * 1.25}rem`;
    button.title = choice.path;
    button.textContent = (index < 9 ? `${index + 1} ` : "") + choice.name;
    button.setAttribute("aria-pressed", String(selected.includes(choice.id)));
    button.addEventListener("click", () => choose(choice.id));
    list.append(button);
  });
  $("submit").disabled = selected.length === 0 || busy;
}

function choose(id) {
  selected = toggleLabel(selected, id, schema.multi_label);
  renderLabels();
}

function renderTask() {
  const data = lease.task.data;
  const panel = $("task-content");
  panel.replaceChildren();
  panel.dataset.taskId = String(lease.task.id);
  const src = mediaUrl(data);
  if (src) {
    const img = document.createElement("img");
    img.src = src;
    img.alt = data.name || "";
    panel.append(img);
  } else {
    const text = document.createElement("p");
    text.className = "task-text";
    text.textContent = typeof data.text === "string" ? data.text : JSON.stringify(data);
    panel.append(text);
  }
  selected = [];
  shownAt = performance.now();
  renderLabels();
  tick();
}

function tick() {
  if (!lease) return;
  const left = countdown(lease.assignment.expires_at, Date.now());
  $("countdown").textContent = left ? `Lease: ${left}` : "Your lease has expired: submitting may still work if the task has room.";
}

async function heartbeat() {
  if (!lease || document.hidden) return;
  try {
    const renewed = await api.post(`/api/v1/assignments/${lease.assignment.id}/heartbeat`);
    lease.assignment.expires_at = renewed.expires_at;
  } catch (error) {
    if (error.status === 409) tick(); else fail(error);
  }
}

async function loadNext() {
  $("workspace-error").hidden = true;
  lease = await api.post(`/api/v1/projects/${projectId}/next`);
  clearInterval(beat);
  if (lease === null) {
    $("countdown").textContent = "";
    show("done-panel");
    return;
  }
  show("task-panel");
  renderTask();
  beat = setInterval(heartbeat, heartbeatEvery(project.lease_seconds));
}

// The page is "ready" exactly when a task is shown and the keyboard acts on it (tests wait for this too).
function setReady(ready) {
  root.dataset.state = ready ? "ready" : "working";
}

async function act(work) {
  if (busy || !lease) return;
  busy = true;
  setReady(false);
  $("submit").disabled = $("skip").disabled = true;
  try {
    await work();
    await loadNext();
  } catch (error) {
    fail(error);
  } finally {
    busy = false;
    $("skip").disabled = false;
    if (lease) renderLabels();
    setReady(Boolean(lease));
  }
}

function submit() {
  if (selected.length === 0) return;
  const { id } = lease.assignment;
  const body = { result: { labels: selected }, lead_time_ms: Math.round(performance.now() - shownAt) };
  // A retried submit (a dropped connection) must not answer twice: one key per assignment.
  return act(() => api.post(`/api/v1/assignments/${id}/annotation`, body, { "Idempotency-Key": `assignment-${id}` }));
}

function skip() {
  return act(() => api.post(`/api/v1/assignments/${lease.assignment.id}/skip`, {}));
}

$("submit").addEventListener("click", submit);
$("skip").addEventListener("click", skip);
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea")) return;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    submit();
  } else if (/^[1-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey && lease) {
    const choice = choices[Number(event.key) - 1];
    if (choice) choose(choice.id);
  }
});
setInterval(tick, 1000);

if (!project) {
  show(null);
} else if (!supports(schema)) {
  show("unsupported-panel");
} else {
  try {
    await loadNext();
  } catch (error) {
    fail(error);
  }
  setReady(Boolean(lease));
}
