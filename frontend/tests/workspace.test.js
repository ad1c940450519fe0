import { test } from "node:test";
import assert from "node:assert/strict";
import { countdown, heartbeatEvery, labelChoices, mediaUrl, supports, toggleLabel } from "../static/js/annotate/workspace.js";

test("labelChoices flattens the taxonomy depth-first with paths", () => {
  const schema = { labels: [
    { id: "bird", name: "鸟类", children: [{ id: "warbler", name: "莺", children: [{ id: "yw", name: "黄林莺" }] }] },
    { id: "other", name: "Other" },
  ] };
  assert.deepEqual(labelChoices(schema).map((c) => [c.id, c.path, c.depth]), [
    ["bird", "鸟类", 0], ["warbler", "鸟类 › 莺", 1], ["yw", "鸟类 › 莺 › 黄林莺", 2], ["other", "Other", 0],
  ]);
});

test("labelChoices names labels and paths in the reader's language, else by name", () => {
  const schema = { labels: [{ id: "car", name: "Car", names: { zh: "汽车" }, children: [
    { id: "sedan", name: "Sedan", names: { zh: "轿车" }, aliases: ["saloon"] }, { id: "van", name: "Van" }] }] };
  assert.deepEqual(labelChoices(schema, "zh-CN").map((c) => [c.name, c.path]),
    [["汽车", "汽车"], ["轿车", "汽车 › 轿车"], ["Van", "汽车 › Van"]]);
  assert.deepEqual(labelChoices(schema, "en").map((c) => c.path), ["Car", "Car › Sedan", "Car › Van"]);
  assert.deepEqual(labelChoices(schema).map((c) => c.path), ["Car", "Car › Sedan", "Car › Van"]); // the UI language
});

test("toggleLabel replaces a single choice and toggles multiple ones", () => {
  assert.deepEqual(toggleLabel(["a"], "b", false), ["b"]);
  assert.deepEqual(toggleLabel(["a"], "a", false), []);
  assert.deepEqual(toggleLabel(["a"], "b", true), ["a", "b"]);
  assert.deepEqual(toggleLabel(["a", "b"], "a", true), ["b"]);
});

test("countdown shows minutes and seconds, then null once the lease has run out", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  assert.equal(countdown("2026-11-22T10:04:05Z", now), "4:05");
  assert.equal(countdown("2026-11-22T10:00:09+00:00", now), "0:09");
  assert.equal(countdown("2026-11-22T10:00:00Z", now), null);
  assert.equal(countdown("not a date", now), null);
});

test("heartbeatEvery renews at a third of the lease, between 5 and 60 seconds", () => {
  assert.equal(heartbeatEvery(600), 60000);
  assert.equal(heartbeatEvery(90), 30000);
  assert.equal(heartbeatEvery(6), 5000);
});

test("mediaUrl accepts only our own media paths", () => {
  const sha = "a".repeat(64);
  assert.equal(mediaUrl({ image: `/media/${sha}` }), `/media/${sha}`);
  assert.equal(mediaUrl({ image: "javascript:alert(1)" }), null);
  assert.equal(mediaUrl({ image: `https://evil.example/media/${sha}` }), null);
  assert.equal(mediaUrl({ text: "hi" }), null);
});

test("supports whole-item classification", () => {
  assert.equal(supports({ tools: ["classify", "bbox"] }), true);
  assert.equal(supports({ tools: ["bbox"] }), false);
});
