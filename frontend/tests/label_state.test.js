import { test } from "node:test";
import assert from "node:assert/strict";
import { createState } from "../static/js/pages/label/state.js";
import { match } from "../static/js/annotate/shortcuts.js";

const LABELS = [{ id: "bird", name: "Bird", children: [{ id: "sparrow", name: "Sparrow" }] }, { id: "bat", name: "Bat" }];
const project = (tools, mediaType = "image") => ({ id: 7, media_type: mediaType, label_schema: { tools, labels: LABELS } });
const key = (k) => ({ key: k, code: "", ctrlKey: false, metaKey: false, shiftKey: false, altKey: false });

test("the workspace's keys are the project's: a boxes-only project has no polygon key", () => {
  const ws = createState({ me: { id: 1 }, projectId: 7, project: project(["bbox"]) });
  assert.equal(match(ws.keymap, key("b")), "bbox");
  assert.equal(match(ws.keymap, key("p")), null);
  assert.equal(match(ws.keymap, key("s")), null);
  const text = createState({ me: { id: 1 }, projectId: 7, project: project(["span"], "text") });
  assert.equal(match(text.keymap, key("s")), "span");
  assert.equal(match(text.keymap, key("0")), null); // nothing to zoom in a text
});
