// Every answer to a task drawn for the people who judge it (the task viewer, the review page): each annotator's
// boxes, polygons and points overlaid on the image in their colour, a text's spans as one row per annotator,
// and the legend whose switches hide or show an annotator's marks.
import { spanPieces } from "../lib/task_view.js";

const SVG = "http://www.w3.org/2000/svg";

export function swatch(color) {
  const mark = document.createElement("span");
  mark.className = "swatch";
  mark.style.background = color;
  return mark;
}

/** The legend in `box` (a fieldset keeping its <legend>): one switch per `[owner, name, color]`; a switch
 * adds its owner to `hidden` or takes it out, then `redraw()`s. */
export function legend(box, entries, hidden, redraw) {
  box.replaceChildren(box.querySelector("legend"));
  for (const [owner, name, color] of entries) {
    const label = document.createElement("label");
    label.className = "inline";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.checked = !hidden.has(owner);
    input.dataset.owner = String(owner);
    input.addEventListener("change", () => {
      if (input.checked) hidden.delete(owner); else hidden.add(owner);
      redraw();
    });
    label.append(input, " ", swatch(color), " ", name);
    box.append(label);
  }
  box.hidden = entries.length === 0;
}

/** Draw `shapes` (lib/task_view.js overlay()) over `image` in `svg`, leaving out the owners in `hidden`; a shape
 * with `selected` is drawn thicker and unfilled, one with `dashed` dashed. `paths`: label id -> its path. */
export function drawShapes(svg, image, shapes, paths, hidden = new Set()) {
  svg.setAttribute("viewBox", `0 0 ${image.naturalWidth} ${image.naturalHeight}`);
  const stroke = Math.max(1.5, image.naturalWidth / 400);
  svg.replaceChildren(...shapes.filter((s) => !hidden.has(s.owner)).map((s) => {
    const element = document.createElementNS(SVG, s.shape);
    for (const key of ["x", "y", "width", "height", "points", "cx", "cy"]) {
      if (s[key] !== undefined) element.setAttribute(key, String(s[key]));
    }
    const width = s.selected ? stroke * 2.5 : stroke;
    if (s.shape === "circle") element.setAttribute("r", String(stroke * 3));
    element.setAttribute("stroke", s.color);
    element.setAttribute("stroke-width", String(width));
    element.setAttribute("fill", s.shape === "circle" ? s.color : s.selected ? "none" : `${s.color}22`);
    if (s.dashed) element.setAttribute("stroke-dasharray", `${stroke * 4} ${stroke * 3}`);
    element.dataset.owner = String(s.owner);
    if (s.selected) element.dataset.selected = "true";
    const title = document.createElementNS(SVG, "title");
    title.textContent = paths.get(s.label) || s.label;
    element.append(title);
    return element;
  }));
}

/** A text with one annotator's spans marked in their colour, as a table row: who, then the text. */
export function spanRow(name, color, text, spans, paths, owner, hidden = new Set()) {
  const row = document.createElement("tr");
  row.dataset.owner = String(owner);
  const who = document.createElement("td");
  who.append(swatch(color), " ", name);
  const body = document.createElement("td");
  body.className = "task-text";
  for (const piece of spanPieces(text, spans)) {
    if (!piece.labels.length) { body.append(piece.text); continue; }
    const mark = document.createElement("mark");
    mark.style.background = `${color}33`;
    mark.style.borderBottom = `2px solid ${color}`;
    mark.title = piece.labels.map((id) => paths.get(id) || id).join(", ");
    mark.textContent = piece.text;
    body.append(mark);
  }
  row.append(who, body);
  row.hidden = hidden.has(owner);
  return row;
}
