import { test } from "node:test";
import assert from "node:assert/strict";
import { explainEntry, explainGroup, releaseNameFromMemo } from "../static/js/lib/ledger_words.js";
import { setLocale } from "../static/js/lib/i18n.js";

const line = (memo, details = { release_id: 7, amount: 1_000_001, fee: 25_000, fee_bps: 250,
  share_scale: 100_000_000, shares: { 2: 33_333_334, 3: 66_666_666 } }) => ({
  kind: "revenue", account: "wallet_available", amount: 325_000, task_id: null, transaction_id: 40, memo, details });

test("a revenue line names its release, in the reader's language", () => {
  const entry = line("revenue of release 'Spring 2025': 975001 shared by 2 contributors after a 25000 platform fee");
  setLocale("en");
  assert.equal(explainEntry(entry), "Your share of the revenue of release “Spring 2025”");
  setLocale("zh-CN");
  assert.equal(explainEntry(entry), "你在发布版本“Spring 2025”收入中的分成");
  setLocale("en");
});

test("the release's name as the server's memo quotes it", () => {
  assert.equal(releaseNameFromMemo("revenue of release 'v1': 7 shared by 3 contributors"), "v1");
  assert.equal(releaseNameFromMemo(`revenue of release "Bo's set": 7 shared by 1 contributors`), "Bo's set");
  assert.equal(releaseNameFromMemo(`revenue of release 'say "hi" \\'now\\'': 7 shared by 1 contributors`), `say "hi" 'now'`);
  assert.equal(releaseNameFromMemo("revenue of release 'a: b': 7 shared by 1 contributors"), "a: b");
  assert.equal(releaseNameFromMemo("revenue of release '春季版': 7 shared by 1 contributors"), "春季版");
  assert.equal(releaseNameFromMemo("licence sale"), null);
  assert.equal(releaseNameFromMemo(undefined), null);
});

test("without a memo to read, the release by number", () => {
  setLocale("en");
  assert.equal(explainEntry(line("")), "Your share of the revenue of release “#7”");
  assert.equal(explainEntry({ kind: "revenue", amount: 5 }), "Your share of the revenue of release “#?”");
});

test("a wallet row of revenue (no task: a group of its own) reads as its line", () => {
  setLocale("en");
  const group = { key: "transaction:40", task: null, kinds: ["revenue"], net: 325_000,
    amounts: { wallet_available: 325_000, wallet_pending: 0, payouts_in_flight: 0 },
    lines: [line("revenue of release 'v1': 975001 shared by 2 contributors after a 25000 platform fee")] };
  assert.equal(explainGroup(group), "Your share of the revenue of release “v1”");
});
