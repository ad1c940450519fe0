// What a press and a drag on the stage do to the document: pure functions, free of the DOM so node can test them.
//
// A drag is {kind: "pan", last} (screen point), {kind: "resize", index, handle, original} (a box's handle;
// original is the box as it was), {kind: "vertex", index, vertex} (a polygon's point) or
// {kind: "move", index, start, original} (a whole object; start is the image point pressed).
import { clampPoint, hitBoxHandle, insertVertex, moveBox, moveVertex, nearestEdge, nearestVertex, resizeBox } from "../geometry.js";
import { updateObject } from "../document.js";

/**
 * What a press at `point` grabs on the selected object, if anything: a box's handle, a polygon's vertex or,
 * with Alt, a new vertex on a polygon's edge (then `points` is the polygon with it, to commit first).
 * @returns {{drag: object, points?: number[][]}|null}
 */
export function grabSelected(object, index, point, tolerance, altKey) {
  if (!object || object.hidden) return null;
  if (object.tool === "bbox") {
    const handle = hitBoxHandle(object.bbox, point, tolerance);
    return handle ? { drag: { kind: "resize", index, handle, original: object.bbox } } : null;
  }
  if (object.tool !== "polygon") return null;
  const vertex = nearestVertex(object.points, point, tolerance);
  if (vertex >= 0) return { drag: { kind: "vertex", index, vertex } };
  const edge = altKey ? nearestEdge(object.points, point, tolerance) : null;
  if (!edge) return null;
  return { drag: { kind: "vertex", index, vertex: edge.index + 1 }, points: insertVertex(object.points, edge.index, edge.point) };
}

/** The document with the dragged object following the pointer to `point`, kept inside the image. */
export function dragged(drag, doc, point, { width, height }) {
  if (drag.kind === "resize") {
    return updateObject(doc, drag.index, { bbox: resizeBox(drag.original, drag.handle, point, width, height) });
  }
  if (drag.kind === "vertex") {
    return updateObject(doc, drag.index, { points: moveVertex(doc.objects[drag.index].points, drag.vertex, point) });
  }
  const [dx, dy] = [point[0] - drag.start[0], point[1] - drag.start[1]];
  return updateObject(doc, drag.index, moved(drag.original, dx, dy, width, height));
}

/** The changes that move an object by dx, dy image pixels without leaving the image. */
export function moved(object, dx, dy, width, height) {
  if (object.tool === "bbox") return { bbox: moveBox(object.bbox, dx, dy, width, height) };
  if (object.tool === "keypoint") return { point: clampPoint([object.point[0] + dx, object.point[1] + dy], width, height) };
  return { points: movePolygon(object.points, dx, dy, width, height) };
}

/** A polygon moved whole, kept inside the image by its bounds (so its shape never changes). */
export function movePolygon(points, dx, dy, width, height) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const mx = Math.min(Math.max(dx, -Math.min(...xs)), width - Math.max(...xs));
  const my = Math.min(Math.max(dy, -Math.min(...ys)), height - Math.max(...ys));
  return points.map(([x, y]) => [x + mx, y + my]);
}
