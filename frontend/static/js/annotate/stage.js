// The image stage: a canvas that shows the image and its objects, zooms (wheel, +/-), pans (drag on nothing,
// space+drag, middle button), and draws, selects, moves and resizes boxes, polygons and keypoints.
//
// It owns no answer: `host` gives the document and takes edits. During a drag it only repaints (a preview of
// the edited document); the edit is committed once, on release, so the side panel and the undo history do not
// change per mouse move. Painting is coalesced to one frame and culls objects outside the view.
// The stage's state is one object passed to the functions of stage/paint.js (painting), stage/pointer.js
// (the pointer and the wheel) and stage/drag.js (what a drag does to the document, DOM-free).
import { fit, recentre, toScreen, zoomAt } from "./geometry.js";
import { paint, resize } from "./stage/paint.js";
import { finishPolygon, onPointerDown, onPointerMove, onPointerUp, onWheel } from "./stage/pointer.js";

export { colorFor } from "./stage/paint.js";

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{doc, commit, select, selected, tool, currentLabel, labelOrder, imageSize, addObject}} host
 *   doc() the document; commit(doc) one edit; select(i) and selected() the selected object; tool() and
 *   currentLabel() what a new object is; labelOrder() the label -> index map for colours; imageSize() the
 *   image's natural size; addObject(object) a new object.
 */
export function createStage(canvas, host) {
  const stage = {
    canvas,
    context: canvas.getContext("2d"),
    host,
    view: { scale: 1, x: 0, y: 0 }, // image -> screen (see geometry.js)
    fitted: null, // the view the last fit made: while it is still the view, a new canvas size fits again
    image: null,
    size: { width: 0, height: 0 }, // CSS pixels of the canvas
    frame: 0, // the requested animation frame, 0 when none
    preview: null, // the document being dragged into shape, painted instead of host.doc()
    drag: null, // see stage/drag.js
    drawing: null, // {tool: "bbox", from, to} or {tool: "polygon", points, hover}
    spaceDown: false, // space+drag pans
  };
  listen(stage);
  return controls(stage);
}

function listen(stage) {
  const { canvas } = stage;
  canvas.addEventListener("pointerdown", (event) => onPointerDown(stage, event));
  canvas.addEventListener("pointermove", (event) => onPointerMove(stage, event));
  canvas.addEventListener("pointerup", (event) => onPointerUp(stage, event));
  canvas.addEventListener("pointercancel", (event) => onPointerUp(stage, event));
  canvas.addEventListener("dblclick", () => finishPolygon(stage));
  canvas.addEventListener("wheel", (event) => onWheel(stage, event), { passive: false });
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  window.addEventListener("keydown", (event) => { if (event.code === "Space") stage.spaceDown = true; });
  window.addEventListener("keyup", (event) => { if (event.code === "Space") stage.spaceDown = false; });
  // The layout moves the canvas's box (the Instructions panel opens, the window narrows): follow it.
  new ResizeObserver(() => relayout(stage)).observe(canvas.parentElement);
}

/** What the page may ask of the stage. */
function controls(stage) {
  return {
    setImage: (image) => setImage(stage, image),
    fit: () => fitImage(stage),
    zoom: (factor) => zoomCentre(stage, factor),
    cancel: () => cancel(stage),
    undoPoint: () => undoPoint(stage),
    finishPolygon: () => finishPolygon(stage),
    drawing: () => Boolean(stage.drawing),
    view: () => ({ ...stage.view }),
    clientPoint: (point) => clientPoint(stage, point),
    paint: () => paint(stage),
  };
}

/** A new image (or null): whatever was being drawn or dragged is dropped, and the image fits the view. */
function setImage(stage, image) {
  stage.image = image;
  stage.drawing = null;
  stage.preview = null;
  stage.drag = null;
  resize(stage);
  fitImage(stage);
}

function fitImage(stage) {
  if (!stage.image) return;
  const { width, height } = stage.host.imageSize();
  stage.view = fit(width, height, stage.size.width, stage.size.height);
  stage.fitted = stage.view;
  paint(stage);
}

/** The canvas's box changed size: an image still as fitted fits the new size (no clipping until `0` is
 * pressed); one the user zoomed or panned keeps the point at the centre of the view at the centre. */
function relayout(stage) {
  const before = stage.size;
  resize(stage);
  if (stage.view === stage.fitted) fitImage(stage);
  else stage.view = recentre(stage.view, before, stage.size);
}

function zoomCentre(stage, factor) {
  stage.view = zoomAt(stage.view, factor, [stage.size.width / 2, stage.size.height / 2]);
  paint(stage);
}

/** Escape: a shape being drawn is dropped (true), else nothing to cancel here (false). */
function cancel(stage) {
  const had = Boolean(stage.drawing);
  stage.drawing = null;
  paint(stage);
  return had;
}

/** Backspace while drawing a polygon takes back its last point (true when it did). */
function undoPoint(stage) {
  const { drawing } = stage;
  if (!drawing || drawing.tool !== "polygon") return false;
  drawing.points.pop();
  if (!drawing.points.length) stage.drawing = null;
  paint(stage);
  return true;
}

/** Test and automation hook: where an image point is on the page (client pixels). */
function clientPoint(stage, point) {
  const box = stage.canvas.getBoundingClientRect();
  const [sx, sy] = toScreen(stage.view, point);
  return [box.left + sx, box.top + sy];
}
