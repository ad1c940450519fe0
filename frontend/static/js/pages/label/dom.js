// The page's elements by id, its two message lines, and where the keyboard goes back to.
import { showError } from "../../components/chrome.js";
import { t } from "../../lib/i18n.js";
import { isImage } from "./state.js";

export const $ = (id) => document.getElementById(id);

export function fail(error) {
  showError($("workspace-error"), error);
}

export function note(key, params = {}) {
  $("workspace-note").textContent = t(key, params);
  $("workspace-note").hidden = false;
}

/** Focus the work: the canvas of an image task, the text of a text task. */
export function focusWork(ws) {
  if (isImage(ws)) $("stage").focus();
  else $("task-text").focus();
}
