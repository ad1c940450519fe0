// The labelling workspace: lease a task, label it (whole item, boxes, polygons, keypoints, text spans), submit
// with Ctrl+Enter and go straight on to the next. Keyboard first: every tool and action has a key (`?` lists
// them), labels are found by typing, the nine recent ones sit on 1-9. Work survives a reload (a local draft
// per lease) and the lease is kept alive while the tab is in use. A project with revenue-sharing terms you have
// not accepted shows them first (label/terms.js).
//
// The page's state is one object (label/state.js) passed to the modules in label/: the picker, the toolbar,
// the panels (objects and attributes, text and spans), the stage, the lease, answering, keys and help.
import { api } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { renderMarkdown } from "../lib/markdown.js";
import { startPage } from "../components/chrome.js";
import { bindFlag } from "./label/answer.js";
import { attachStage } from "./label/canvas.js";
import { $, fail } from "./label/dom.js";
import { bindKeys } from "./label/keys.js";
import { loadNext, loadRevision, refreshWallet, setReady, tick } from "./label/lease.js";
import { renderPanels } from "./label/panels.js";
import { bindPicker } from "./label/picker.js";
import { showSkills } from "./label/skills.js";
import { createState } from "./label/state.js";
import { bindTextSelection } from "./label/text.js";
import { bindTerms } from "./label/terms.js";

const me = await startPage();
const projectId = Number($("workspace").dataset.projectId);
// An unknown project, or a private one you are not in (the API says 404 to both, so nobody learns which),
// says how to get in: ask the owner for an invitation to your address.
const project = await api.get(`/api/v1/projects/${projectId}`).catch((error) => {
  fail(error.status === 404 ? new Error(t("label.noAccess", { email: me.email })) : error);
  return null;
});

const ws = createState({ me, projectId, project });
ws.render = () => renderPanels(ws);
ws.stage = attachStage(ws);
window.annotatorStage = ws.stage; // for the browser tests: image points to page points
bindPicker(ws);
bindTextSelection(ws);
bindFlag(ws);
bindKeys(ws);
bindTerms(ws);
setInterval(() => tick(ws), 1000);

if (project) {
  $("project-name").textContent = project.name;
  if (project.instructions) {
    renderMarkdown($("instructions"), project.instructions);
    $("instructions").closest("details").hidden = false;
  }
  const revising = Number(new URLSearchParams(window.location.search).get("revise")) || null;
  $("my-answers-link").href = `/projects/${projectId}/answers`;
  try {
    refreshWallet(ws);
    showSkills(ws); // beside the work, not in its way
    if (revising) await loadRevision(ws, revising);
    else await loadNext(ws);
  } catch (error) {
    fail(error);
  }
  setReady(Boolean(ws.lease));
}
