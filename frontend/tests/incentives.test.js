import { test } from "node:test";
import assert from "node:assert/strict";
import { costPoints, payBars, readParams, replayRows, usable } from "../static/js/lib/incentives.js";

const PEER = { id: "peer_prediction", params: { window: 50, scale: 2.5 }, limits: { window: [1, 1000], scale: [0.1, 10] },
  needs_labels: true };

test("parameters default when blank and are refused outside their limits, naming the field", () => {
  assert.deepEqual(readParams(PEER, { window: "", scale: "3" }), { params: { window: 50, scale: 3 } });
  assert.deepEqual(readParams(PEER, { window: "0" }).error, { field: "window", message: "range", low: 1, high: 1000 });
  assert.deepEqual(readParams(PEER, { window: "2.5" }).error, { field: "window", message: "whole" });
  assert.deepEqual(readParams(PEER, { scale: "abc" }).error, { field: "scale", message: "number" });
});

test("peer prediction is offered only where every answer is one whole-item label", () => {
  assert.equal(usable(PEER, { tools: ["classify"] }), true);
  assert.equal(usable(PEER, { tools: ["classify"], multi_label: true }), false);
  assert.equal(usable(PEER, { tools: ["bbox"] }), false);
  assert.equal(usable({ needs_labels: false }, { tools: ["bbox"] }), true);
});

const RESULT = { mechanisms: [
  { id: "agreement", accuracy: 0.66, cost_per_correct: 362.2, ratios: { "expert/spammer": 2.2 },
    by_strategy: { expert: { pay_per_answer: 85.9 }, spammer: { pay_per_answer: 38.8 } } },
  { id: "peer_prediction", accuracy: 0.66, cost_per_correct: null, ratios: { "expert/spammer": 8.2 },
    by_strategy: { expert: { pay_per_answer: 81.9 }, spammer: { pay_per_answer: 10 } } }] };

test("a result becomes bars per mechanism and strategy, and points of accuracy against cost", () => {
  const bars = payBars(RESULT);
  assert.deepEqual(bars.labels, ["agreement", "peer_prediction"]);
  assert.deepEqual(bars.datasets.map((d) => [d.label, d.data]), [["expert", [85.9, 81.9]], ["spammer", [38.8, 10]]]);
  const points = costPoints([["30% spammers", RESULT]]);
  assert.deepEqual(points.datasets.map((d) => [d.label, d.data]),
    [["agreement", [{ x: 0.66, y: 362.2, crowd: "30% spammers" }]]]);  // no cost without a correct label
});

test("the replay's rows mark the project's own mechanism and the difference from what was paid", () => {
  const rows = replayRows({ mechanisms: ["agreement", "gold"], own: "gold", annotators: [
    { user_id: 3, display_name: "", answers: 4, actual: 200, by_mechanism: { agreement: 230, gold: 200 } }] });
  assert.equal(rows[0].name, "#3");
  assert.deepEqual(rows[0].cells, [{ id: "agreement", amount: 230, delta: 30, own: false },
    { id: "gold", amount: 200, delta: 0, own: true }]);
  assert.equal(rows[0].external, false);
});

test("an external annotator's replay row is marked and shows no difference from the zero it was paid", () => {
  const rows = replayRows({ mechanisms: ["agreement", "gold"], own: "gold", annotators: [
    { user_id: 9, display_name: "turker-7", external: true, answers: 2, actual: 0,
      by_mechanism: { agreement: 180, gold: 110 } }] });
  assert.equal(rows[0].external, true);
  assert.equal(rows[0].name, "turker-7");
  assert.deepEqual(rows[0].cells, [{ id: "agreement", amount: 180, delta: null, own: false },
    { id: "gold", amount: 110, delta: null, own: true }]);
});
