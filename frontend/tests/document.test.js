import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addObject, addSpan, chooseLabel, codePointOffset, emptyDocument, errorsByPart, problem, readDraft, removeObject,
  setAllHidden, setAttribute, spanRuns, toResult, toggleHidden, updateObject, utf16Offset,
} from "../static/js/annotate/document.js";

const boxes = { tools: ["bbox", "polygon", "keypoint"], labels: [] };
const classify = { tools: ["classify"], labels: [] };

test("the result has the schema's parts only, coordinates rounded and hidden left out", () => {
  let doc = addObject(emptyDocument(), { tool: "bbox", label: "bird", bbox: [10.123, 20.456, 30.001, 40], hidden: true });
  doc = addObject(doc, { tool: "polygon", label: "wing", points: [[1.006, 2], [3, 4.4449], [5, 6]] });
  doc = addObject(doc, { tool: "keypoint", label: "eye", point: [7.777, 8] });
  doc = chooseLabel(doc, "ignored", false);
  assert.deepEqual(toResult(doc, boxes), { objects: [
    { tool: "bbox", label: "bird", bbox: [10.12, 20.46, 30, 40] },
    { tool: "polygon", label: "wing", points: [[1.01, 2], [3, 4.44], [5, 6]] },
    { tool: "keypoint", label: "eye", point: [7.78, 8] }] });
});

test("an image answer with nothing drawn says 'nothing here'; classification needs a label", () => {
  assert.deepEqual(toResult(emptyDocument(), boxes), { objects: [] });
  assert.equal(problem(emptyDocument(), boxes), null);
  assert.equal(problem(emptyDocument(), classify), "ws.nothing");
  assert.equal(problem(chooseLabel(emptyDocument(), "a", false), classify), null);
});

test("an object without a label stops the submit", () => {
  const doc = addObject(emptyDocument(), { tool: "bbox", label: null, bbox: [0, 0, 1, 1] });
  assert.equal(problem(doc, boxes), "ws.needLabel");
  assert.equal(problem(updateObject(doc, 0, { label: "bird" }), boxes), null);
});

test("attributes are set, cleared by empty values, and sent only when there are any", () => {
  let doc = addObject(emptyDocument(), { tool: "keypoint", label: "eye", point: [1, 1] });
  doc = setAttribute(doc, 0, "occluded", true);
  assert.deepEqual(toResult(doc, boxes).objects[0].attributes, { occluded: true });
  doc = setAttribute(doc, 0, "occluded", "");
  assert.equal("attributes" in toResult(doc, boxes).objects[0], false);
});

test("edits return new documents and leave the old ones alone (the undo history keeps them)", () => {
  const before = addObject(emptyDocument(), { tool: "bbox", label: "a", bbox: [0, 0, 2, 2] });
  const after = updateObject(before, 0, { bbox: [1, 1, 2, 2] });
  assert.deepEqual(before.objects[0].bbox, [0, 0, 2, 2]);
  assert.deepEqual(after.objects[0].bbox, [1, 1, 2, 2]);
  assert.equal(removeObject(after, 5), after);
  assert.equal(removeObject(after, 0).objects.length, 0);
  assert.equal(toggleHidden(after, 0).objects[0].hidden, true);
  assert.deepEqual(setAllHidden(after, true).objects.map((o) => o.hidden), [true]);
});

test("single-label choice replaces and clears; multi-label toggles", () => {
  let doc = chooseLabel(emptyDocument(), "a", false);
  doc = chooseLabel(doc, "b", false);
  assert.deepEqual(doc.labels, ["b"]);
  assert.deepEqual(chooseLabel(doc, "b", false).labels, []);
  assert.deepEqual(chooseLabel(doc, "c", true).labels, ["b", "c"]);
});

test("spans count code points, stay in text order and are not added twice", () => {
  const text = "𝒳 is a bird";
  assert.equal(codePointOffset(text, 2), 1); // the surrogate pair is one code point
  assert.equal(utf16Offset(text, 1), 2);
  let doc = addSpan(emptyDocument(), 5, 11, "species");
  doc = addSpan(doc, 0, 1, "symbol");
  doc = addSpan(doc, 0, 1, "symbol");
  assert.deepEqual(doc.spans.map((s) => s.start), [0, 5]);
  assert.equal(addSpan(doc, 3, 3, "x"), doc); // empty selection: nothing
});

test("span runs cut the text at every boundary and know which spans cover them", () => {
  const runs = spanRuns("abcdef", [{ start: 1, end: 4 }, { start: 2, end: 6 }]);
  assert.deepEqual(runs.map((r) => [r.text, r.spans]), [["a", []], ["b", [0]], ["cd", [0, 1]], ["ef", [1]]]);
});

test("server errors are grouped by the object or span that caused them", () => {
  const grouped = errorsByPart({ "result.objects.2.label": ["Unknown label 'x'."], "result.spans.0": ["Out of the text."],
    "result.labels": ["Choose exactly one label."], lead_time_ms: ["Must be positive."] });
  assert.deepEqual(grouped.objects, { 2: ["Unknown label 'x'."] });
  assert.deepEqual(grouped.spans, { 0: ["Out of the text."] });
  assert.deepEqual(grouped.labels, ["Choose exactly one label."]);
  assert.deepEqual(grouped.general, ["lead_time_ms: Must be positive."]);
});

test("a damaged or foreign draft is ignored", () => {
  assert.equal(readDraft("{not json"), null);
  assert.equal(readDraft(JSON.stringify({ objects: "x", labels: [], spans: [] })), null);
  assert.deepEqual(readDraft(JSON.stringify({ labels: ["a"], objects: [], spans: [] })), { labels: ["a"], objects: [], spans: [] });
});
