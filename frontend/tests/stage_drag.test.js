import { test } from "node:test";
import assert from "node:assert/strict";
import { dragged, grabSelected, movePolygon, moved } from "../static/js/annotate/stage/drag.js";

const SIZE = { width: 100, height: 80 };
const box = { tool: "bbox", label: "a", bbox: [10, 10, 20, 20] };
const triangle = { tool: "polygon", label: "b", points: [[10, 10], [50, 10], [30, 40]] };
const point = { tool: "keypoint", label: "c", point: [90, 70] };
const doc = { labels: [], spans: [], objects: [box, triangle, point] };

test("a press on a selected box's corner grabs that handle, elsewhere nothing", () => {
  assert.deepEqual(grabSelected(box, 0, [30.5, 30.5], 2, false), { drag: { kind: "resize", index: 0, handle: "se", original: box.bbox } });
  assert.equal(grabSelected(box, 0, [20, 20], 2, false), null);
  assert.equal(grabSelected({ ...box, hidden: true }, 0, [30, 30], 2, false), null);
  assert.equal(grabSelected(undefined, -1, [30, 30], 2, false), null);
  assert.equal(grabSelected(point, 2, [90, 70], 2, false), null);
});

test("a press on a polygon's vertex grabs it; with Alt on an edge it adds a vertex there first", () => {
  assert.deepEqual(grabSelected(triangle, 1, [50, 11], 2, false), { drag: { kind: "vertex", index: 1, vertex: 1 } });
  assert.equal(grabSelected(triangle, 1, [30, 10], 2, false), null);
  assert.deepEqual(grabSelected(triangle, 1, [30, 10], 2, true), {
    drag: { kind: "vertex", index: 1, vertex: 1 }, points: [[10, 10], [30, 10], [50, 10], [30, 40]],
  });
});

test("dragging a box handle resizes it inside the image and leaves the document as it was", () => {
  const next = dragged({ kind: "resize", index: 0, handle: "se", original: box.bbox }, doc, [200, 50], SIZE);
  assert.deepEqual(next.objects[0].bbox, [10, 10, 90, 40]);
  assert.deepEqual(doc.objects[0].bbox, [10, 10, 20, 20]);
  assert.equal(next.objects[1], triangle);
});

test("dragging a vertex moves only that vertex", () => {
  const next = dragged({ kind: "vertex", index: 1, vertex: 2 }, doc, [35, 60], SIZE);
  assert.deepEqual(next.objects[1].points, [[10, 10], [50, 10], [35, 60]]);
});

test("moving an object follows the pointer from where it was pressed and stays inside the image", () => {
  const drag = { kind: "move", index: 0, start: [15, 15], original: box };
  assert.deepEqual(dragged(drag, doc, [20, 25], SIZE).objects[0].bbox, [15, 20, 20, 20]);
  assert.deepEqual(dragged(drag, doc, [500, -500], SIZE).objects[0].bbox, [80, 0, 20, 20]);
  assert.deepEqual(moved(point, 30, 30, 100, 80), { point: [100, 80] });
});

test("a polygon moves whole: at the image's edge it stops rather than changing shape", () => {
  assert.deepEqual(movePolygon(triangle.points, 5, 5, 100, 80), [[15, 15], [55, 15], [35, 45]]);
  assert.deepEqual(movePolygon(triangle.points, -50, 100, 100, 80), [[0, 50], [40, 50], [20, 80]]);
});
