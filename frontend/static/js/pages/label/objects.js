// The objects drawn on an image, listed beside it (select, hide, delete), and the selected one's attributes.
import { t } from "../../lib/i18n.js";
import { removeObject, setAttribute, toggleHidden } from "../../annotate/document.js";
import { colorFor } from "../../annotate/stage.js";
import { $ } from "./dom.js";
import { edit } from "./edit.js";
import { doc, labelName, labelPath } from "./state.js";

export function renderObjects(ws, current) {
  $("objects").replaceChildren(...current.objects.map((object, i) => objectItem(ws, object, i)));
  $("no-objects").hidden = current.objects.length > 0;
  renderAttributes(ws, current);
}

function objectItem(ws, object, i) {
  const item = document.createElement("li");
  item.className = (i === ws.selected ? "selected " : "") + (object.hidden ? "hidden-object" : "");
  item.dataset.index = String(i);
  const name = document.createElement("button");
  name.type = "button";
  name.className = "link swatch-name";
  name.style.setProperty("--swatch", colorFor(object.label, ws.labelOrder));
  name.textContent = `${t(`ws.tool.${object.tool}`)} · ${object.label ? labelName(ws, object.label) : t("ws.noLabel")}`;
  name.title = object.label ? labelPath(ws, object.label) : "";
  name.addEventListener("click", () => { ws.selected = i; ws.selectedSpan = -1; ws.render(); ws.stage.paint(); });
  const hide = linkButton(object.hidden ? t("ws.show") : t("ws.hide"), "link small");
  hide.addEventListener("click", () => edit(ws, toggleHidden(doc(ws), i)));
  const remove = linkButton(t("ws.delete"), "link small danger");
  remove.addEventListener("click", () => { edit(ws, removeObject(doc(ws), i)); ws.selected = -1; ws.render(); });
  item.append(name, hide, remove);
  explain(item, ws.errors.objects[i]);
  return item;
}

export function linkButton(text, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.textContent = text;
  return button;
}

/** The server's words about an object or span, under it. */
export function explain(item, problems) {
  if (!problems) return;
  const why = document.createElement("p");
  why.className = "error small";
  why.textContent = problems.join(" ");
  item.append(why);
}

function renderAttributes(ws, current) {
  const box = $("attributes");
  const object = current.objects[ws.selected];
  const attributes = ws.schema.attributes || [];
  box.replaceChildren();
  box.hidden = !object || attributes.length === 0;
  if (box.hidden) return;
  const heading = document.createElement("h3");
  heading.textContent = t("ws.attributes");
  box.append(heading);
  for (const attribute of attributes) {
    const label = document.createElement("label");
    label.className = "inline";
    const input = attributeInput(ws, attribute, (object.attributes || {})[attribute.name]);
    input.name = `attribute-${attribute.name}`;
    const name = document.createElement("span");
    name.textContent = attribute.name;
    label.append(name, input);
    box.append(label);
  }
}

/** The input for one attribute of the selected object: a checkbox, a choice or a text or number field. */
function attributeInput(ws, attribute, value) {
  const set = (next) => edit(ws, setAttribute(doc(ws), ws.selected, attribute.name, next));
  if (attribute.type === "boolean") {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.checked = value === true;
    input.addEventListener("change", () => set(input.checked || undefined));
    return input;
  }
  if (attribute.type === "choice") {
    const input = document.createElement("select");
    for (const option of ["", ...(attribute.options || [])]) {
      const element = document.createElement("option");
      element.value = option;
      element.textContent = option || "—";
      element.selected = option === (value ?? "");
      input.append(element);
    }
    input.addEventListener("change", () => set(input.value));
    return input;
  }
  const input = document.createElement("input");
  input.type = attribute.type === "number" ? "number" : "text";
  input.value = value ?? "";
  input.addEventListener("change", () => set(attribute.type === "number" && input.value !== "" ? Number(input.value) : input.value));
  return input;
}
