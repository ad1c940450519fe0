import assert from "node:assert/strict";
import { test } from "node:test";

import { CONSENSUS_COLOR, PALETTE, annotatorColors, describeAnswer, filterQuery, overlay, shapeOf, spanPieces }
  from "../static/js/lib/task_view.js";

test("each annotator gets a colour of their own, in order of their first answer", () => {
  const colors = annotatorColors([{ user_id: 7 }, { user_id: 3 }, { user_id: 7 }, { user_id: 9 }]);
  assert.deepEqual([...colors], [[7, PALETTE[0]], [3, PALETTE[1]], [9, PALETTE[2]]]);
});

test("boxes, polygons and keypoints become shapes; malformed objects are left out", () => {
  assert.deepEqual(shapeOf({ tool: "bbox", bbox: [1, 2, 30, 40] }), { shape: "rect", x: 1, y: 2, width: 30, height: 40 });
  assert.deepEqual(shapeOf({ tool: "polygon", points: [[0, 0], [10, 0], [5, 8]] }),
    { shape: "polygon", points: "0,0 10,0 5,8" });
  assert.deepEqual(shapeOf({ tool: "keypoint", point: [4, 5] }), { shape: "circle", cx: 4, cy: 5 });
  assert.equal(shapeOf({ tool: "bbox", bbox: [1, 2] }), null);
  assert.equal(shapeOf({ tool: "polygon", points: [[0, 0], [1, 1]] }), null);
});

test("the overlay draws every answer in its annotator's colour and the consensus dashed", () => {
  const answers = [{ user_id: 1, result: { objects: [{ tool: "bbox", label: "car", bbox: [0, 0, 5, 5] }] } },
    { user_id: 2, result: { objects: [{ tool: "bbox", label: "van", bbox: [1, 1, 5, 5] },
      { tool: "keypoint", label: "car", point: [3, 3] }] } }];
  const shapes = overlay(answers, annotatorColors(answers), { objects: [{ tool: "bbox", label: "car", bbox: [0, 0, 5, 5] }] });
  assert.deepEqual(shapes.map((s) => [s.owner, s.color, s.label, s.shape]), [
    [1, PALETTE[0], "car", "rect"], [2, PALETTE[1], "van", "rect"], [2, PALETTE[1], "car", "circle"],
    ["consensus", CONSENSUS_COLOR, "car", "rect"]]);
  assert.equal(shapes[3].dashed, true);
});

test("a text is cut at span boundaries, overlapping spans carrying both labels, in code points", () => {
  assert.deepEqual(spanPieces("😀 red fox", [{ start: 2, end: 5, label: "colour" }, { start: 2, end: 9, label: "animal" }]), [
    { text: "😀 ", labels: [] }, { text: "red", labels: ["colour", "animal"] }, { text: " fox", labels: ["animal"] }]);
  assert.deepEqual(spanPieces("abc", [{ start: 2, end: 9, label: "x" }]), [{ text: "abc", labels: [] }]);
  assert.deepEqual(spanPieces("", []), []);
});

test("an answer reads as its labels' paths, then objects and spans counted", () => {
  const paths = new Map([["car", "Vehicle › Car"], ["van", "Vehicle › Van"]]);
  assert.equal(describeAnswer({ labels: ["car"] }, paths), "Vehicle › Car");
  assert.equal(describeAnswer({ objects: [{ label: "car" }, { label: "car" }, { label: "van" }] }, paths),
    "Vehicle › Car ×2, Vehicle › Van");
  assert.equal(describeAnswer({ labels: [], objects: [] }, paths), "—");
  assert.equal(describeAnswer(null, paths), "—");
});

test("the filters' query leaves out empty fields", () => {
  assert.equal(filterQuery({ status: "open", flagged: "", min_confidence: 0.5, annotator_id: null }),
    "status=open&min_confidence=0.5");
});
