import { test } from "node:test";
import assert from "node:assert/strict";
import { createState, knownRecent } from "../static/js/pages/label/state.js";
import { buildIndex } from "../static/js/annotate/taxonomy.js";
import { match } from "../static/js/annotate/shortcuts.js";

const LABELS = [{ id: "bird", name: "Bird", children: [{ id: "sparrow", name: "Sparrow" }] }, { id: "bat", name: "Bat" }];
const project = (tools, mediaType = "image") => ({ id: 7, media_type: mediaType, label_schema: { tools, labels: LABELS } });
const key = (k) => ({ key: k, code: "", ctrlKey: false, metaKey: false, shiftKey: false, altKey: false });

test("a fresh workspace has no recent labels: the taxonomy's roots do not stand in for them", () => {
  const ws = createState({ me: { id: 1 }, projectId: 7, project: project(["bbox"]) });
  assert.deepEqual(ws.recent, []);
});

test("knownRecent keeps the saved labels still in the taxonomy, most recent first, at most nine", () => {
  const index = buildIndex(LABELS);
  assert.deepEqual(knownRecent(["sparrow", "gone", "bird"], index), ["sparrow", "bird"]);
  assert.deepEqual(knownRecent([], index), []);
  assert.deepEqual(knownRecent({ not: "a list" }, index), []);
  assert.deepEqual(knownRecent(["bat", "bird", "sparrow"], index, 2), ["bat", "bird"]);
});

test("the workspace's keys are the project's: a boxes-only project has no polygon key", () => {
  const ws = createState({ me: { id: 1 }, projectId: 7, project: project(["bbox"]) });
  assert.equal(match(ws.keymap, key("b")), "bbox");
  assert.equal(match(ws.keymap, key("p")), null);
  assert.equal(match(ws.keymap, key("s")), null);
  const text = createState({ me: { id: 1 }, projectId: 7, project: project(["span"], "text") });
  assert.equal(match(text.keymap, key("s")), "span");
  assert.equal(match(text.keymap, key("0")), null); // nothing to zoom in a text
});
