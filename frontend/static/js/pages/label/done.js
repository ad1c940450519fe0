// No task left for you: say what to do next. Those who run the project are sent to import data (and told when
// it has no tasks at all); those who label it, to their answers and other projects.
import { api } from "../../lib/api.js";
import { t } from "../../lib/i18n.js";
import { nextSteps } from "../../components/next_steps.js";
import { $ } from "./dom.js";

const RUN_BY = ["owner", "manager"];

export async function renderDone(ws) {
  const id = ws.projectId;
  if (!RUN_BY.includes(ws.project.role)) {
    say("ws.done", "ws.comeBack", [["ws.otherProjects", "/"], ["ma.link", `/projects/${id}/answers`]]);
    return;
  }
  const stats = await api.get(`/api/v1/projects/${id}/stats`).catch(() => null);
  const empty = Boolean(stats) && stats.total === 0;
  say(empty ? "ws.noTasksYet" : "ws.done", empty ? "ws.importFirst" : "ws.importMore",
    [["ws.importData", `/projects/${id}/import`], ["home.dashboard", `/projects/${id}/quality`]]);
}

/** The panel's words, what to do next, and the links that do it. */
function say(what, next, steps) {
  $("done-text").textContent = t(what);
  $("done-next").textContent = t(next);
  nextSteps($("done-links"), steps);
}
