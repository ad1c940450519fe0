import { test } from "node:test";
import assert from "node:assert/strict";
import { describeResult, formatInterval, formatNumber, formatShare, labelRows, sortAnnotators } from "../static/js/lib/quality.js";

test("numbers that are undefined for the data show as a dash", () => {
  assert.equal(formatNumber(0.74312), "0.743");
  assert.equal(formatNumber(null), "—");
  assert.equal(formatNumber(undefined), "—");
  assert.equal(formatNumber(NaN), "—");
  assert.equal(formatInterval([0.61, 0.8]), "[0.610, 0.800]");
  assert.equal(formatInterval(null), "—");
  assert.equal(formatShare(0.666), "67%");
  assert.equal(formatShare(null), "—");
});

test("label rows carry paths and come most used first", () => {
  const paths = new Map([["bird", "Bird"], ["warbler", "Bird › Warbler"]]);
  const rows = labelRows({ bird: { alpha: 0.5, annotations: 2 }, warbler: { alpha: null, annotations: 5 } }, paths);
  assert.deepEqual(rows.map((r) => [r.id, r.path, r.annotations]), [["warbler", "Bird › Warbler", 5], ["bird", "Bird", 2]]);
});

test("a consensus result reads as label paths", () => {
  const paths = new Map([["warbler", "Bird › Warbler"]]);
  assert.equal(describeResult({ labels: ["warbler"] }, paths), "Bird › Warbler");
  assert.equal(describeResult(null, paths), "—");
  assert.equal(describeResult({ labels: ["gone"] }, paths), "gone");
});

test("annotators sort by a column with nulls last", () => {
  const rows = [{ user_id: 1, reliability: null }, { user_id: 2, reliability: 0.9 }, { user_id: 3, reliability: 0.4 }];
  assert.deepEqual(sortAnnotators(rows, "reliability").map((r) => r.user_id), [2, 3, 1]);
  assert.deepEqual(sortAnnotators(rows, "reliability", false).map((r) => r.user_id), [3, 2, 1]);
});

test("the objects' per-label rows end with drawing no object, and a null confusion label reads as no object", async () => {
  const { confusionName, objectLabelRows } = await import("../static/js/lib/quality.js");
  const paths = new Map([["sedan", "Car › Sedan"]]);
  const rows = objectLabelRows({ per_label: { sedan: { alpha: 0.7, annotations: 9 } },
    no_object: { alpha: -0.1, annotations: 2 } }, paths, "no object");
  assert.deepEqual(rows.map((r) => [r.id, r.path, r.alpha, r.annotations]),
    [["sedan", "Car › Sedan", 0.7, 9], [null, "no object", -0.1, 2]]);
  assert.equal(objectLabelRows({ per_label: {}, no_object: { alpha: null, annotations: 0 } }, paths, "none").length, 0);
  assert.equal(confusionName(null, paths, "no object"), "no object");
  assert.equal(confusionName("sedan", paths, "no object"), "Car › Sedan");
});

test("a consensus of objects reads as its labels, most frequent first", async () => {
  const { describeObjects } = await import("../static/js/lib/quality.js");
  const paths = new Map([["sedan", "Car › Sedan"], ["pickup", "Truck › Pickup"]]);
  assert.equal(describeObjects([{ label: "pickup" }, { label: "sedan" }, { label: "sedan" }], paths), "Car › Sedan ×2, Truck › Pickup");
  assert.equal(describeObjects([], paths), "—");
});
