import { test } from "node:test";
import assert from "node:assert/strict";
import { explainEntry } from "../static/js/lib/ledger_words.js";
import { setLocale } from "../static/js/lib/i18n.js";

test("wallet lines read in the user's language, from the transaction's kind and numbers", () => {
  setLocale("zh-CN");
  assert.equal(explainEntry({ kind: "credit", task_id: 7, amount: 50 }), "任务 7 答案的基础报酬");
  assert.equal(explainEntry({ kind: "bonus", task_id: 7, amount: 20, details: { score: 0.83 } }), "任务 7 已结算：你的答案一致性 83%");
  setLocale("en");
  assert.equal(explainEntry({ kind: "clawback", task_id: 3, amount: -50 }), "Taken back: your answer to task 3 was rejected");
  assert.match(explainEntry({ kind: "payout_request", amount: -1250 }, "CNY"), /Payout of .*12\.50 requested/);
});

test("a kind it does not know falls back to the server's memo, then the kind", () => {
  setLocale("en");
  assert.equal(explainEntry({ kind: "adjustment", memo: "manual fix" }), "manual fix");
  assert.equal(explainEntry({ kind: "adjustment" }), "adjustment");
});

test("a settled geometry answer names, per tool, what matched, how well it was placed and every misnamed object", () => {
  const entry = { kind: "bonus", task_id: 9, amount: 161, details: { score: 0.8, objects: {
    bbox: { score: 0.8, drawn: 3, consensus: 3, matched: 3, localisation: 0.912,
      mislabelled: [{ label: "sedan", consensus: "hatchback", credit: 0.5 }] },
    polygon: { score: 0, drawn: 0, consensus: 1, matched: 0, localisation: null, mislabelled: [] } } } };
  const paths = new Map([["sedan", "Car › Sedan"], ["hatchback", "Car › Hatchback"]]);
  setLocale("en");
  assert.equal(explainEntry(entry, "CNY", paths), "Task 9 settled: your answer agreed 80%"
    + " · Boxes: 3 of your 3 matched the 3 in the consensus, placed 91%; “Sedan” where the consensus says “Hatchback” (50% credit)"
    + " · Polygons: 0 of your 0 matched the 1 in the consensus");
  // Without the project's labels, the ids.
  assert.match(explainEntry(entry), /“sedan” where the consensus says “hatchback”/);
  setLocale("zh-CN");
  assert.equal(explainEntry(entry, "CNY", paths), "任务 9 已结算：你的答案一致性 80%"
    + " · 矩形框：你画的 3 个中有 3 个与共识的 3 个匹配，定位 91%；“Sedan”而共识为“Hatchback”（得分 50%）"
    + " · 多边形：你画的 0 个中有 0 个与共识的 1 个匹配");
  setLocale("en");
});

test("a settlement's lines: the first says why, the others that the base pay moved", async () => {
  const { explainEntries } = await import("../static/js/lib/ledger_words.js");
  setLocale("en");
  const settled = { kind: "bonus", task_id: 4, transaction_id: 30, details: { score: 1 } };
  const lines = explainEntries([{ ...settled, account: "wallet_available", amount: 20 },
    { ...settled, account: "wallet_available", amount: 50 }, { ...settled, account: "wallet_pending", amount: -50 },
    { kind: "credit", task_id: 4, transaction_id: 12, account: "wallet_pending", amount: 50 },
    { kind: "bonus", task_id: 5, transaction_id: 40, account: "wallet_available", amount: 10, details: { score: 0.5 } }]);
  assert.deepEqual(lines, ["Task 4 settled: your answer agreed 100%", "Base pay for task 4 is now available (settled)",
    "Base pay for task 4 leaves pending (settled)", "Base pay for your answer to task 4", "Task 5 settled: your answer agreed 50%"]);
});

test("a settlement names the mechanism that priced it", () => {
  setLocale("en");
  const settled = (mechanism) => ({ kind: "bonus", task_id: 8, details: { score: 0.64, mechanism } });
  assert.equal(explainEntry(settled({ mechanism: "peer_prediction", mean: 0.356, scored: 31 })),
    "Task 8 settled by peer prediction: 64% of the bonus (your running score 0.36 over 31 answers)");
  assert.equal(explainEntry(settled({ mechanism: "gold", gold_answers: 7 })),
    "Task 8 settled by your gold accuracy: 64% of the bonus (7 gold answers)");
  assert.equal(explainEntry(settled({ mechanism: "posterior" })), "Task 8 settled: your answer is right with probability 64%");
  assert.equal(explainEntry(settled({ mechanism: "agreement" })), "Task 8 settled: your answer agreed 64%");
  setLocale("zh-CN");
  assert.equal(explainEntry(settled({ mechanism: "peer_prediction", mean: 0.356, scored: 31 })),
    "任务 8 按同伴预测结算：奖金的 64%（你最近 31 条答案的滚动得分 0.36）");
  setLocale("en");
});

test("a wallet row says what happened last to its task's answer, or what its payout did", async () => {
  const { explainGroup } = await import("../static/js/lib/ledger_words.js");
  setLocale("en");
  const credit = { kind: "credit", task_id: 28, account: "wallet_pending", amount: 50 };
  const settled = { kind: "bonus", task_id: 28, account: "wallet_available", amount: 20, details: { score: 0.7 } };
  const taken = { kind: "clawback", task_id: 28, account: "wallet_available", amount: -70 };
  assert.equal(explainGroup({ lines: [credit] }),
    "Base pay for your answer to task 28; the bonus comes when the task settles");
  assert.equal(explainGroup({ lines: [settled, { ...settled, amount: 50 }, credit] }),
    "Task 28 settled: your answer agreed 70%");
  assert.equal(explainGroup({ lines: [taken, settled, credit] }), "Taken back: your answer to task 28 was rejected");
  const asked = [{ kind: "payout_request", account: "payouts_in_flight", amount: 30 },
    { kind: "payout_request", account: "wallet_available", amount: -30 }];
  assert.match(explainGroup({ lines: asked }, "CNY"), /^Payout of .*0\.30 requested$/);
  assert.equal(explainGroup({ lines: [] }), "");
  setLocale("zh-CN");
  assert.equal(explainGroup({ lines: [credit] }), "任务 28 答案的基础报酬；任务结算时发放奖金");
  setLocale("en");
});

test("a wallet row names its item by preview, with the task's number and external id beside it", async () => {
  const { groupItem } = await import("../static/js/lib/ledger_words.js");
  setLocale("en");
  assert.deepEqual(groupItem({ task: { id: 28, external_id: "cam-7", preview: "street-3.jpg" } }),
    { name: "street-3.jpg", about: "Task 28 · cam-7" });
  assert.deepEqual(groupItem({ task: { id: 28, external_id: null, preview: "" } }), { name: "Task 28", about: "Task 28" });
  assert.deepEqual(groupItem({ task: null }), { name: "", about: "" });
  setLocale("zh-CN");
  assert.equal(groupItem({ task: { id: 5, external_id: null, preview: "一只黄林莺" } }).about, "任务 5");
  setLocale("en");
});

test("a row's moves name each account it changed, with signs", async () => {
  const { accountMoves, signedMoney } = await import("../static/js/lib/ledger_words.js");
  setLocale("en");
  assert.equal(signedMoney(70), "+CN¥0.70");
  assert.equal(signedMoney(-1250), "−CN¥12.50");
  assert.equal(signedMoney(0), "CN¥0.00");
  assert.deepEqual(accountMoves({ wallet_pending: -100, wallet_available: 140, payouts_in_flight: 0 }),
    ["available +CN¥1.40", "pending −CN¥1.00"]);
  assert.deepEqual(accountMoves({ wallet_pending: 0, wallet_available: -30, payouts_in_flight: 30 }),
    ["available −CN¥0.30", "payout in flight +CN¥0.30"]);
  assert.deepEqual(accountMoves({ wallet_pending: 0, wallet_available: 0, payouts_in_flight: 0 }), []);
  setLocale("zh-CN");
  assert.deepEqual(accountMoves({ wallet_available: 70 }), ["可提现 +¥0.70"]);
  setLocale("en");
});
