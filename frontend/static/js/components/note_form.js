// A form around one captioned text box and a hidden error line: the reject reason, the appeal reason and an appeal
// decision's note are all this. The caller adds its buttons and handlers.

/**
 * @param {string} className the form's class
 * @param {string} caption the words above the box (`hiddenCaption`: read by screen readers only, and used as the
 *   box's placeholder instead)
 * @param {{rows?: number, maxLength?: number, name?: string, id?: string, hiddenCaption?: boolean}} options
 * @returns {{form: HTMLFormElement, label: HTMLLabelElement, box: HTMLTextAreaElement, problem: HTMLElement}}
 */
export function noteForm(className, caption, { rows = 2, maxLength = 4000, name = "", id = "", hiddenCaption = false } = {}) {
  const form = document.createElement("form");
  form.className = className;
  form.noValidate = true;
  const label = document.createElement("label");
  const words = document.createElement("span");
  words.className = hiddenCaption ? "visually-hidden" : "small";
  words.textContent = caption;
  const box = document.createElement("textarea");
  if (name) box.name = name;
  if (id) box.id = id;
  box.rows = rows;
  box.maxLength = maxLength;
  if (hiddenCaption) box.placeholder = caption;
  label.append(words, box);
  const problem = document.createElement("p");
  problem.className = "error small";
  problem.hidden = true;
  return { form, label, box, problem };
}
