import { test } from "node:test";
import assert from "node:assert/strict";
import { attributesText, fromMinor, parseAttributes, problemLines, toMinor, toolsFor } from "../static/js/lib/project_form.js";

test("attribute lines become the schema's attributes and back", () => {
  const text = "occluded: boolean\npose: choice perched | flying\n\ncount: number";
  const { attributes, errors } = parseAttributes(text);
  assert.deepEqual(errors, []);
  assert.deepEqual(attributes, [{ name: "occluded", type: "boolean" },
    { name: "pose", type: "choice", options: ["perched", "flying"] }, { name: "count", type: "number" }]);
  assert.deepEqual(parseAttributes(attributesText(attributes)).attributes, attributes);
});

test("bad attribute lines are named by their line", () => {
  const { errors } = parseAttributes("ok: boolean\nno colon\nx: colour\npose: choice one\nok: text");
  assert.deepEqual(errors.map((e) => e.line), [2, 3, 4, 5]);
});

test("money typed in units becomes minor units, and odd input is refused", () => {
  assert.equal(toMinor("12.5"), 1250);
  assert.equal(toMinor(""), 0);
  assert.equal(toMinor("0.05"), 5);
  assert.equal(toMinor("1.005"), null);
  assert.equal(toMinor("-1"), null);
  assert.equal(toMinor("1e3"), null);
  assert.equal(toMinor("500", 0), 500);
  assert.equal(fromMinor(1250), "12.50");
});

test("each media type offers its tools", () => {
  assert.deepEqual(toolsFor("image"), ["classify", "bbox", "polygon", "keypoint"]);
  assert.deepEqual(toolsFor("text"), ["classify", "span"]);
});

test("an API problem's field errors read as lines", () => {
  assert.deepEqual(problemLines({ errors: { overlap: ["Must be at least 1."], "label_schema.labels": "Empty." } }),
    ["overlap: Must be at least 1.", "label_schema.labels: Empty."]);
  assert.deepEqual(problemLines({}), []);
});
