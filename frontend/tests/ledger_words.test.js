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
