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
