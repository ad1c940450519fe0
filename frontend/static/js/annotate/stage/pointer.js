// The pointer and the wheel on the stage: draw with the current tool, select, move, resize, pan and zoom.
// During a drag only stage.preview changes (and is painted); the edit is committed once, on release.
import { closesPolygon, hitTest, normalizeBox, pan, toImage, zoomAt, clampPoint } from "../geometry.js";
import { updateObject } from "../document.js";
import { dragged, grabSelected } from "./drag.js";
import { paint } from "./paint.js";

const TOLERANCE = 7; // screen px for hits
const MIN_BOX = 3; // screen px: a smaller box is a slip of the hand, not a box

const tolerance = (stage) => TOLERANCE / stage.view.scale;

function pointer(stage, event) {
  const box = stage.canvas.getBoundingClientRect();
  return [event.clientX - box.left, event.clientY - box.top];
}

function imagePoint(stage, event) {
  const { width, height } = stage.host.imageSize();
  return clampPoint(toImage(stage.view, pointer(stage, event)), width, height);
}

export function onPointerDown(stage, event) {
  if (!stage.image) return;
  stage.canvas.focus();
  const { host } = stage;
  const tool = host.tool();
  if (event.button === 1 || event.button === 2 || stage.spaceDown) stage.drag = { kind: "pan", last: pointer(stage, event) };
  else if (tool === "bbox") stage.drawing = { tool: "bbox", from: imagePoint(stage, event), to: null };
  else if (tool === "keypoint") host.addObject({ tool: "keypoint", label: host.currentLabel(), point: imagePoint(stage, event) });
  else if (tool === "polygon") addPolygonPoint(stage, imagePoint(stage, event));
  else startSelectDrag(stage, event);
  if (stage.drag || stage.drawing) stage.canvas.setPointerCapture(event.pointerId);
  paint(stage);
}

/** A polygon tool click: start a polygon, add a point, or close it on its first point. */
function addPolygonPoint(stage, point) {
  const { drawing } = stage;
  if (!drawing || drawing.tool !== "polygon") {
    stage.drawing = { tool: "polygon", points: [point], hover: null };
  } else if (closesPolygon(drawing.points, point, tolerance(stage))) {
    finishPolygon(stage);
  } else {
    const last = drawing.points[drawing.points.length - 1];
    // A double click (to finish) lands twice on the same spot: one vertex, not two.
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) > tolerance(stage)) drawing.points.push(point);
  }
}

/** The select tool: grab the selected object's handle or vertex, else select what is hit and move it, else pan. */
function startSelectDrag(stage, event) {
  const { host } = stage;
  const screen = pointer(stage, event);
  const point = toImage(stage.view, screen);
  const current = host.doc();
  const selected = host.selected();
  const grab = grabSelected(current.objects[selected], selected, point, tolerance(stage), event.altKey);
  if (grab) {
    if (grab.points) host.commit(updateObject(current, selected, { points: grab.points }));
    stage.drag = grab.drag;
    return;
  }
  const hit = hitTest(current.objects, point, tolerance(stage));
  host.select(hit);
  stage.drag = hit >= 0 ? { kind: "move", index: hit, start: point, original: current.objects[hit] } :
    { kind: "pan", last: screen };
}

export function onPointerMove(stage, event) {
  const { drag, drawing } = stage;
  if (drag && drag.kind === "pan") {
    const screen = pointer(stage, event);
    stage.view = pan(stage.view, screen[0] - drag.last[0], screen[1] - drag.last[1]);
    drag.last = screen;
  } else if (drag) {
    stage.preview = dragged(drag, stage.host.doc(), imagePoint(stage, event), stage.host.imageSize());
  } else if (drawing && drawing.tool === "bbox") {
    drawing.to = imagePoint(stage, event);
  } else if (drawing && drawing.tool === "polygon") {
    drawing.hover = imagePoint(stage, event);
  } else {
    return;
  }
  paint(stage);
}

export function onPointerUp(stage, event) {
  const done = stage.drag && stage.drag.kind !== "pan" ? stage.preview : null;
  stage.preview = null;
  stage.drag = null;
  if (done) stage.host.commit(done);
  if (stage.drawing && stage.drawing.tool === "bbox") finishBox(stage);
  if (stage.canvas.hasPointerCapture(event.pointerId)) stage.canvas.releasePointerCapture(event.pointerId);
  paint(stage);
}

/** A box drawn big enough on screen becomes an object. */
function finishBox(stage) {
  const { from, to } = stage.drawing;
  stage.drawing = null;
  const box = to ? normalizeBox(from, to) : null;
  if (box && box[2] * stage.view.scale >= MIN_BOX && box[3] * stage.view.scale >= MIN_BOX) {
    stage.host.addObject({ tool: "bbox", label: stage.host.currentLabel(), bbox: box });
  }
}

/** A polygon of three points or more becomes an object (double click, Enter, or a click on its first point). */
export function finishPolygon(stage) {
  const { drawing } = stage;
  if (drawing && drawing.tool === "polygon" && drawing.points.length >= 3) {
    stage.drawing = null;
    stage.host.addObject({ tool: "polygon", label: stage.host.currentLabel(), points: drawing.points });
  }
  paint(stage);
}

/** The wheel zooms about the cursor. */
export function onWheel(stage, event) {
  if (!stage.image) return;
  event.preventDefault();
  const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
  stage.view = zoomAt(stage.view, factor, pointer(stage, event));
  paint(stage);
}
