// The review page's elements by id and its two message lines.
import { showError } from "../../components/chrome.js";
import { t } from "../../lib/i18n.js";

export const $ = (id) => document.getElementById(id);

export function fail(error) {
  showError($("review-error"), error);
}

export function note(key, params = {}) {
  $("review-note").textContent = t(key, params);
  $("review-note").hidden = false;
}

export function clearMessages() {
  $("review-error").hidden = true;
  $("review-note").hidden = true;
}

/** An element with a class and text (never HTML). */
export function element(tag, className = "", text = "") {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text) made.textContent = text;
  return made;
}

/** A button with its words and, after them, the key that does the same. */
export function keyButton(words, key, className = "") {
  const button = element("button", className);
  button.type = "button";
  button.append(words);
  if (key) button.append(" ", element("kbd", "", key));
  return button;
}

/** Whether the page is waiting for the server ("working") or ready for the next key ("ready"). */
export function setReady(ready) {
  $("review-page").dataset.state = ready ? "ready" : "working";
}
