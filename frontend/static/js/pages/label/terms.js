// A project with revenue-sharing terms you have not accepted (POST /next answers 409 terms_not_accepted): the
// terms in full, and an Accept button that accepts the version shown and goes on to the first task. Terms that
// changed while they were read (409) are shown again, the new version, to accept in turn.
import { api } from "../../lib/api.js";
import { t } from "../../lib/i18n.js";
import { showError } from "../../components/chrome.js";
import { $ } from "./dom.js";

/** Whether an error is POST /next's refusal for terms not accepted. */
export function needsTerms(error) {
  return Boolean(error && error.status === 409 && error.problem && error.problem.code === "terms_not_accepted");
}

let shown = null; // the terms on screen: {version, text}
let accepted = null; // what to do once they are accepted

/** Show the project's current terms in place of the task; `then()` runs once they are accepted. */
export async function showTerms(ws, then) {
  const terms = await api.get(`/api/v1/projects/${ws.projectId}/terms`);
  shown = terms;
  accepted = then;
  $("terms-version").textContent = t("terms.version", { version: terms.version });
  $("terms-text").textContent = terms.text;
  $("terms-panel").dataset.version = String(terms.version);
  $("terms-error").hidden = true;
  for (const id of ["task-panel", "done-panel"]) $(id).hidden = true;
  $("terms-panel").hidden = false;
  $("workspace").dataset.terms = "shown";
  $("terms-accept").focus();
}

export function hideTerms() {
  $("terms-panel").hidden = true;
}

export function bindTerms(ws) {
  $("terms-accept").addEventListener("click", async () => {
    const button = $("terms-accept");
    if (button.disabled || !shown) return;
    button.disabled = true;
    $("terms-error").hidden = true;
    try {
      await api.post(`/api/v1/projects/${ws.projectId}/terms/accept`, { version: shown.version });
      $("workspace").dataset.terms = "accepted";
      hideTerms();
      await accepted();
    } catch (error) {
      if (error.status === 409) { // another version since: read it
        await showTerms(ws, accepted).catch(() => {});
        showError($("terms-error"), new Error(t("terms.changed")));
      } else {
        showError($("terms-error"), error);
      }
    } finally {
      button.disabled = false;
    }
  });
}
