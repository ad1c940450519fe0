import { test } from "node:test";
import assert from "node:assert/strict";

import { fromResult, toResult } from "../static/js/annotate/document.js";

const SCHEMA = { tools: ["classify", "bbox", "span"] };

test("an answer held by the API comes back as the document it was made from", () => {
  const result = { labels: ["bird"], objects: [{ tool: "bbox", label: "warbler", bbox: [1, 2, 3, 4],
    attributes: { occluded: true } }], spans: [{ start: 0, end: 4, label: "species" }] };
  assert.deepEqual(toResult(fromResult(result), SCHEMA), result);
  assert.deepEqual(fromResult(result).objects[0].attributes, { occluded: true });
});

test("missing parts are empty, and a missing result is an empty document", () => {
  assert.deepEqual(fromResult({ objects: [{ tool: "keypoint", label: "eye", point: [1, 1] }] }),
    { labels: [], objects: [{ attributes: {}, tool: "keypoint", label: "eye", point: [1, 1] }], spans: [] });
  assert.deepEqual(fromResult(null), { labels: [], objects: [], spans: [] });
});
