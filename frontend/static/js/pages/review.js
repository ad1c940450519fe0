// Review: the next item of the project's review queue with every answer side by side (each annotator's boxes and
// polygons overlaid in their colour on an image, their spans as a row each on a text, whole-item labels listed),
// why it was picked, the consensus and the gold answer. Keyboard first, like the labelling page: a accepts the
// answer in hand, r rejects it (a reason is required: the annotator reads it and may appeal), f fixes it with the
// labelling page's label picker, j/k move between answers; once every answer has a verdict the next item comes.
// The review lease is kept alive while the tab is in use. Below: the open appeals to decide, and for owners and
// managers the queue and its reviewers in numbers.
//
// The page's state is one object (review/item.js createReview) passed to the modules in review/.
import { api } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { labelChoices } from "../annotate/workspace.js";
import { startPage } from "../components/chrome.js";
import { loadAppeals } from "./review/appeals.js";
import { $, fail, setReady } from "./review/dom.js";
import { bindFix } from "./review/fix.js";
import { createReview, loadNext, tick } from "./review/item.js";
import { bindKeys } from "./review/keys.js";
import { loadNumbers } from "./review/numbers.js";

const me = await startPage();
const projectId = Number($("review-page").dataset.projectId);
const project = await api.get(`/api/v1/projects/${projectId}`).catch((error) => {
  fail(error.status === 404 ? new Error(t("label.noAccess", { email: me.email })) : error);
  return null;
});

if (project) {
  const rv = createReview({ me, projectId, project });
  rv.paths = new Map(labelChoices(project.label_schema).map((c) => [c.id, c.path]));
  $("project-name").textContent = project.name;
  $("tasks-link").href = `/projects/${projectId}/tasks`;
  $("tasks-link").hidden = false;
  bindFix(rv);
  bindKeys(rv);
  setInterval(() => tick(rv), 1000);
  const runs = ["owner", "manager"].includes(project.role);
  rv.currency = (await api.get("/api/v1/wallet").catch(() => ({ currency: "CNY" }))).currency;
  const numbers = () => (runs ? loadNumbers(rv).catch(fail) : Promise.resolve());
  const appeals = () => loadAppeals(rv, numbers).catch((error) => {
    $("appeals-error").textContent = error.message;
    $("appeals-error").hidden = false;
    $("appeals-section").hidden = false;
  });
  let reviews = true;
  try {
    await loadNext(rv);
  } catch (error) {
    reviews = ![403, 404].includes(error.status); // not a project you review in; else (no budget for reviewer pay...)
    fail(error); // the API's words
    setReady(true);
  }
  if (reviews) await Promise.all([appeals(), numbers()]);
  $("review-page").dataset.loaded = "true";
} else {
  setReady(true);
}
