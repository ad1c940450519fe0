import { test } from "node:test";
import assert from "node:assert/strict";
import { SHARE_SCALE, contributorName, exportChoice, paidTotals, reasonWords, releaseErrors, shareParts,
  sharePercent } from "../static/js/lib/contributions.js";
import { setLocale } from "../static/js/lib/i18n.js";

test("a share of 100,000,000 reads as its exact percentage, never rounded by a float", () => {
  assert.equal(SHARE_SCALE, 100_000_000);
  assert.equal(sharePercent(33_333_334), "33.333334%");
  assert.equal(sharePercent(33_333_333), "33.333333%");
  assert.equal(sharePercent(50_000_000), "50%");
  assert.equal(sharePercent(100_000_000), "100%");
  assert.equal(sharePercent(12_500_000), "12.5%");
  assert.equal(sharePercent(1), "0.000001%");
  assert.equal(sharePercent(0), "0%");
  assert.equal(sharePercent(99_999_999), "99.999999%");
  // 0.29 * 100 is 28.999999999999996 in floating point; the share's own digits are kept.
  assert.equal(sharePercent(29_000_000), "29%");
  assert.equal(sharePercent(57_142_857), "57.142857%");
});

test("the three shares of a release add up to 100% digit for digit", () => {
  const shares = [33_333_334, 33_333_333, 33_333_333];
  assert.equal(shares.reduce((a, b) => a + b, 0), SHARE_SCALE);
  assert.deepEqual(shares.map((s) => sharePercent(s)), ["33.333334%", "33.333333%", "33.333333%"]);
  const millionths = shares.map((s) => Number(sharePercent(s).replace("%", "").replace(".", "")));
  assert.equal(millionths.reduce((a, b) => a + b, 0), 100_000_000);
});

test("other scales: exact for a power of ten, else rounded half up to six decimals", () => {
  assert.equal(sharePercent(1, 1000), "0.1%");
  assert.equal(sharePercent(1, 100), "1%");
  assert.equal(sharePercent(1, 3), "33.333333%");
  assert.equal(sharePercent(2, 3), "66.666667%");
  assert.equal(sharePercent(1, 7), "14.285714%");
  assert.equal(sharePercent(7, 7), "100%");
  assert.equal(sharePercent(-1), "—");
  assert.equal(sharePercent(0.5), "—");
  assert.equal(sharePercent(1, 0), "—");
});

test("the exact parts, for a title, in the reader's language", () => {
  setLocale("en");
  assert.equal(shareParts(33_333_334), "33,333,334 of 100,000,000 parts");
  setLocale("zh-CN");
  assert.equal(shareParts(33_333_334), "100,000,000 份中的 33,333,334 份");
  setLocale("en");
});

test("why a share is 0", () => {
  setLocale("en");
  assert.equal(reasonWords("terms_not_accepted"), "You had not accepted the project's current terms");
  assert.equal(reasonWords("no_agreeing_answers"), "None of your answers agreed with the released result");
  assert.equal(reasonWords(null), "");
  assert.equal(reasonWords("something_new"), "something_new");
  setLocale("zh-CN");
  assert.equal(reasonWords("terms_not_accepted"), "你未接受该项目当前的条款");
  setLocale("en");
});

test("what a release's revenue paid each contributor, the fees and the amounts", () => {
  const totals = paidTotals([
    { amount: 1_000_001, fee: 25_000, paid: [{ user_id: 2, amount: 325_000 }, { user_id: 3, amount: 650_001 }] },
    { amount: 7, fee: 0, paid: [{ user_id: 2, amount: 2 }, { user_id: 3, amount: 5 }] },
  ]);
  assert.deepEqual([...totals.paid], [[2, 325_002], [3, 650_006]]);
  assert.equal(totals.fees, 25_000);
  assert.equal(totals.amount, 1_000_008);
  assert.equal(totals.fees + [...totals.paid.values()].reduce((a, b) => a + b, 0), totals.amount);
  assert.deepEqual(paidTotals(undefined), { paid: new Map(), fees: 0, amount: 0 });
});

test("a release's refusal lands next to the field it is about", () => {
  const taken = ["Spring 2025"];
  // 422: the fields it names.
  assert.deepEqual(releaseErrors({ status: 422, errors: { name: ["Shorter than minimum length 1."] } }, "", taken),
    { export_id: "", name: "Shorter than minimum length 1.", general: "" });
  assert.deepEqual(releaseErrors({ status: 422, errors: { export_id: ["Not a valid integer."], extra: ["Unknown field."] } }, "x", taken),
    { export_id: "Not a valid integer.", name: "", general: "extra: Unknown field." });
  // 404: the export (another project's, or gone).
  assert.equal(releaseErrors({ status: 404, detail: "No such export in this project." }, "v2", taken).export_id,
    "No such export in this project.");
  // 409: the name when it is taken, else the export (not completed, or the data changed since).
  const named = releaseErrors({ status: 409, detail: "This project already has a release named 'Spring 2025'" }, " Spring 2025 ", taken);
  assert.equal(named.name, "This project already has a release named 'Spring 2025'");
  assert.equal(named.export_id, "");
  const stale = releaseErrors({ status: 409, detail: "The project's data changed since this export was made: export again" }, "v2", taken);
  assert.match(stale.export_id, /export again/);
  assert.equal(stale.name, "");
  assert.equal(releaseErrors({ status: 500, title: "Internal Server Error" }, "v2").general, "Internal Server Error");
});

test("an export as a choice, and a contributor by name", () => {
  setLocale("en");
  const text = exportChoice({ id: 12, format: "jsonl", include: "consensus", created_at: "2025-06-03T14:02:00Z", size_bytes: 2300 });
  assert.match(text, /^#12 · jsonl · consensus only · .*2025.* · 2 KB$/);
  assert.equal(contributorName({ user_id: 4, user: { id: 4, display_name: "Ada" } }), "Ada");
  assert.equal(contributorName({ user_id: 4, user: null }), "#4");
});
