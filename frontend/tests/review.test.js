import { test } from "node:test";
import assert from "node:assert/strict";
import { appealFacts, fieldErrors, keyAction, nextOpen, policyBody, policyFields, queues, remaining, reviewState,
  reviewerFigures, step, whyPicked } from "../static/js/lib/review.js";
import { explainEntry, explainGroup, isRestore } from "../static/js/lib/ledger_words.js";
import { setLocale } from "../static/js/lib/i18n.js";

const key = (k, extra = {}) => ({ key: k, code: "", ctrlKey: false, metaKey: false, shiftKey: false, altKey: false,
  target: { tagName: "BODY" }, ...extra });
const inField = (k, extra = {}) => key(k, { target: { tagName: "TEXTAREA" }, ...extra });

test("a, r and f give a verdict, j/k and the arrows move between answers, ? shows the keys", () => {
  assert.equal(keyAction("review", key("a")), "accept");
  assert.equal(keyAction("review", key("r")), "reject");
  assert.equal(keyAction("review", key("f")), "fix");
  for (const k of ["j", "ArrowDown", "ArrowRight"]) assert.equal(keyAction("review", key(k)), "next");
  for (const k of ["k", "ArrowUp", "ArrowLeft"]) assert.equal(keyAction("review", key(k)), "previous");
  assert.equal(keyAction("review", key("?")), "help");
  assert.equal(keyAction("review", key("A", { shiftKey: true })), null); // Shift+A is not a
  assert.equal(keyAction("review", key("a", { ctrlKey: true })), null); // nor is Ctrl+A (select all)
  // Nothing in hand (the queue is empty, or the next item is on its way): only help.
  assert.equal(keyAction("idle", key("a")), null);
  assert.equal(keyAction("idle", key("?")), "help");
});

test("keys typed in a field stay there: a reason's Enter sends it, Shift+Enter is a new line, Esc leaves", () => {
  assert.equal(keyAction("review", inField("a")), null); // an appeal's note being typed
  assert.equal(keyAction("review", key("a", { target: { tagName: "INPUT", type: "search" } })), null);
  assert.equal(keyAction("review", key("j", { target: { tagName: "INPUT", type: "checkbox" } })), "next"); // a legend switch
  assert.equal(keyAction("reject", inField("r")), null);
  assert.equal(keyAction("reject", inField("Enter")), "sendReject");
  assert.equal(keyAction("reject", inField("Enter", { shiftKey: true })), null);
  assert.equal(keyAction("reject", inField("Enter", { isComposing: true })), null); // an IME choosing characters
  assert.equal(keyAction("reject", inField("Escape")), "cancel");
});

test("fixing an answer: the label keys, j/k over its objects, Ctrl+Enter saves even from the search box", () => {
  assert.equal(keyAction("fix", key("/")), "search");
  assert.equal(keyAction("fix", key("l")), "search");
  assert.equal(keyAction("fix", key("3")), "recent3");
  assert.equal(keyAction("fix", key("j")), "nextPart");
  assert.equal(keyAction("fix", key("Delete")), "remove");
  assert.equal(keyAction("fix", key("Escape")), "cancel");
  assert.equal(keyAction("fix", key("Enter", { ctrlKey: true })), "save");
  assert.equal(keyAction("fix", key("a")), null); // no verdict keys while fixing
  const search = (k, extra) => key(k, { target: { tagName: "INPUT" }, ...extra });
  assert.equal(keyAction("fix", search("j")), null); // typed into the label search
  assert.equal(keyAction("fix", search("Escape")), null); // the search box clears itself
  assert.equal(keyAction("fix", search("Enter", { ctrlKey: true })), "save");
});

test("which answers remain, and where the keyboard goes after a verdict", () => {
  const answers = [{ id: 1, verdict: "accepted" }, { id: 2, verdict: null }, { id: 3 }, { id: 4, verdict: "rejected" }];
  assert.deepEqual(remaining(answers).map((a) => a.id), [2, 3]);
  assert.equal(nextOpen(answers, -1), 1); // the first waiting one
  assert.equal(nextOpen(answers, 1), 2);
  assert.equal(nextOpen(answers, 2), 1); // wraps to one skipped earlier
  assert.equal(nextOpen(answers.map((a) => ({ ...a, verdict: "accepted" })), 0), -1); // all judged: the next item
  assert.equal(nextOpen([], -1), -1);
  assert.equal(step(answers, 0, 1), 1);
  assert.equal(step(answers, 3, 1), 0);
  assert.equal(step(answers, 0, -1), 3);
  assert.equal(step(answers, -1, -1), 3);
  assert.equal(step([], 0, 1), -1);
});

test("why an item was picked, in the reader's language", () => {
  setLocale("en");
  assert.equal(whyPicked({ reason: "below_agreement", agreement: 0.5, task: { is_gold: false } }),
    "Its answers agree less than the policy asks · agreement 50%");
  assert.equal(whyPicked({ reason: "sample", agreement: null, task: { is_gold: true } }), "Picked at random · a gold task");
  assert.equal(whyPicked({ reason: "sample", agreement: null, consensus: { agreement: 0.25 }, task: {} }),
    "Picked at random · agreement 25%");
  setLocale("zh-CN");
  assert.equal(whyPicked({ reason: "first_answers", agreement: null, task: {} }), "新标注者最初的答案之一");
  setLocale("en");
});

test("the review policy as the form's fields and back", () => {
  assert.deepEqual(policyFields(null), { enabled: false, sample_rate: "0", below_agreement: "", gold_failures: false,
    first_answers: "0", appeal_days: "7", reviewer_pay: "0.00" });
  const shown = policyFields({ sample_rate: 0.25, below_agreement: 0.6, gold_failures: true, first_answers: 5,
    appeal_days: 10, reviewer_pay: 30 });
  assert.equal(shown.enabled, true);
  assert.equal(shown.reviewer_pay, "0.30");
  assert.deepEqual(policyBody(shown, true), { review: { sample_rate: 0.25, below_agreement: 0.6, gold_failures: true,
    first_answers: 5, appeal_days: 10, reviewer_pay: 30 }, errors: {} });
  // An empty "below agreement" is none; empty numbers are their defaults.
  const off = policyBody({ ...shown, below_agreement: " ", sample_rate: "", appeal_days: "" }, true).review;
  assert.deepEqual([off.below_agreement, off.sample_rate, off.appeal_days], [null, 0, 7]);
  // The box unticked: a policy there is removed (null); none there stays none (nothing sent).
  assert.deepEqual(policyBody({ ...shown, enabled: false }, true), { review: null, errors: {} });
  assert.deepEqual(policyBody({ ...shown, enabled: false }, false), { review: undefined, errors: {} });
  // What the browser can tell is wrong, by field; ranges are the API's to check (it names the field).
  assert.deepEqual(policyBody({ ...shown, reviewer_pay: "1.234", first_answers: "x" }, true).errors,
    { reviewer_pay: "pf.badMoney", first_answers: "pf.notNumber" });
  assert.equal(policyBody({ ...shown, sample_rate: "1.5" }, true).review.sample_rate, 1.5);
  assert.equal(policyFields({ reviewer_pay: 500 }, 0).reviewer_pay, "500"); // a currency without minor units
});

test("the API's field errors for the review fields, by their own names", () => {
  const problem = { errors: { "review.sample_rate": ["Must be between 0 and 1."], "review.appeal_days": ["Too many.", "Really."],
    name: ["Required."] } };
  assert.deepEqual(fieldErrors(problem, "review."), { sample_rate: "Must be between 0 and 1.", appeal_days: "Too many. Really." });
  assert.deepEqual(fieldErrors(undefined, "review."), {});
});

test("a policy queues something only when it picks something", () => {
  assert.equal(queues(null), false);
  assert.equal(queues({ sample_rate: 0, below_agreement: null, gold_failures: false, first_answers: 0, appeal_days: 7 }), false);
  assert.equal(queues({ sample_rate: 0, below_agreement: 0, gold_failures: false, first_answers: 0 }), true);
  assert.equal(queues({ sample_rate: 0.1 }), true);
});

test("a reviewer's figures: agreement with gold as a share, the median time in seconds", () => {
  setLocale("en");
  const row = { reviews: 4, accepted: 2, rejected: 1, fixed: 1, overturned: 1, upheld: 0, gold_checked: 4,
    gold_agreeing: 3, median_seconds: 12.4 };
  assert.deepEqual(reviewerFigures(row), { numbers: ["4", "2", "1", "1", "1", "0"], gold: "75%", goldTitle: "3/4",
    median: "12 s" });
  const none = reviewerFigures({ ...row, gold_checked: 0, gold_agreeing: 0, median_seconds: null });
  assert.deepEqual([none.gold, none.median], ["—", "—"]);
  assert.equal(reviewerFigures({ ...row, median_seconds: 3.25 }).median, "3.3 s");
});

test("an answer's review as its author sees it: the reason, the appeal deadline, the appeal's fate", () => {
  const now = Date.parse("2025-03-01T12:00:00Z");
  const rejected = { verdict: "rejected", review_id: 7, review_note: "Wrong animal", appeal_until: "2025-03-05T12:00:00Z",
    appeal_id: null, appeal_status: null };
  assert.deepEqual(reviewState(rejected, now), { verdict: "rejected", verdictKey: "tv.v.rejected", note: "Wrong animal",
    appealable: true, until: "2025-03-05T12:00:00Z", appeal: null, windowClosed: false });
  const late = reviewState({ ...rejected, appeal_until: "2025-02-28T12:00:00Z" }, now);
  assert.deepEqual([late.appealable, late.windowClosed, late.until], [false, true, null]);
  const open = reviewState({ ...rejected, appeal_until: null, appeal_id: 3, appeal_status: "open" }, now);
  assert.deepEqual([open.appealable, open.appeal, open.windowClosed], [false, "open", false]);
  assert.equal(reviewState({ ...rejected, appeal_id: 3, appeal_status: "upheld" }, now).appeal, "upheld");
  const won = reviewState({ ...rejected, verdict: "overturned", appeal_id: 3, appeal_status: "overturned" }, now);
  assert.deepEqual([won.verdictKey, won.appeal, won.appealable], ["tv.v.overturned", "overturned", false]);
  assert.deepEqual(reviewState({ verdict: null }, now).verdictKey, "ma.notReviewed");
  assert.equal(reviewState({ verdict: "accepted", appeal_until: null }, now).appealable, false);
});

test("an appeal's answer and rejection come from the appeal when the API names them", () => {
  assert.deepEqual(appealFacts({ id: 1, annotation_id: 5, user_id: 2 }), { taskId: null, result: null, user: null,
    rejection: null });
  assert.deepEqual(appealFacts({ task_id: 9, result: { labels: ["a"] }, user: { id: 2 }, review_note: "no" }),
    { taskId: 9, result: { labels: ["a"] }, user: { id: 2 }, rejection: "no" });
});

test("a review's pay and an appeal's restore read as what they are; a payout's reversal keeps its words", () => {
  setLocale("en");
  assert.equal(explainEntry({ kind: "review_pay", amount: 30, task_id: null, details: { reviewer_pay: 30 } }),
    "Paid for reviewing a task's answers");
  const restore = { kind: "reversal", amount: 50, task_id: 12, details: { reverses: 88 },
    memo: "appeal 3 overturned the rejection of answer 40: its pay restored" };
  assert.equal(isRestore(restore), true);
  assert.equal(explainEntry(restore), "Restored: your appeal overturned the rejection of your answer to task 12");
  const payout = { kind: "reversal", amount: 1000, task_id: null, details: { reverses: 70 } };
  assert.equal(isRestore(payout), false);
  assert.equal(explainEntry(payout), "Payout rejected: the money is back");
  // A task's row says what happened last: the restore, not the take-back it undid.
  const lines = [restore, { kind: "clawback", amount: -50, task_id: 12 }, { kind: "credit", amount: 50, task_id: 12 }];
  assert.equal(explainGroup({ lines }), "Restored: your appeal overturned the rejection of your answer to task 12");
  assert.equal(explainGroup({ lines: lines.slice(1) }), "Taken back: your answer to task 12 was rejected");
  assert.equal(explainGroup({ lines: [{ kind: "review_pay", amount: 30, task_id: null, details: {} }] }),
    "Paid for reviewing a task's answers");
  setLocale("zh-CN");
  assert.equal(explainEntry(restore), "已恢复：你的申诉撤销了对你在任务 12 上答案的驳回");
  assert.equal(explainEntry(payout), "提现被拒绝：款项已退回");
  setLocale("en");
});
