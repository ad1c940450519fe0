import { test } from "node:test";
import assert from "node:assert/strict";
import { MESSAGES, currencyDigits, formatMoney, pickLocale, setLocale, t } from "../static/js/lib/i18n.js";

test("every English message has a Chinese translation and the same placeholders", () => {
  const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const [key, text] of Object.entries(MESSAGES.en)) {
    if (key.endsWith("_one")) continue;  // a singular form: Chinese has none, its one message serves
    assert.ok(key in MESSAGES["zh-CN"], `zh-CN lacks ${key}`);
    assert.deepEqual(placeholders(MESSAGES["zh-CN"][key]), placeholders(text), key);
  }
  assert.deepEqual(Object.keys(MESSAGES["zh-CN"]).filter((k) => !(k in MESSAGES.en)), []);
});

test("the locale falls back to its language, then English", () => {
  assert.equal(pickLocale("zh-CN"), "zh-CN");
  assert.equal(pickLocale("zh-Hans-CN"), "zh-CN");
  assert.equal(pickLocale("fr-FR"), "en");
  assert.equal(pickLocale(undefined), "en");
});

test("messages are filled in and follow the locale", () => {
  setLocale("en");
  assert.equal(t("home.welcome", { name: "Li" }), "Welcome, Li");
  setLocale("zh-CN");
  assert.equal(t("home.welcome", { name: "李" }), "欢迎，李");
  assert.equal(t("no.such.key"), "no.such.key");
  assert.equal(t("home.welcome"), "欢迎，{name}"); // a missing parameter stays visible, not "undefined"
  setLocale("en");
});

test("money in minor units is shown in the currency's units", () => {
  setLocale("en");
  assert.equal(currencyDigits("CNY"), 2);
  assert.equal(currencyDigits("JPY"), 0);
  assert.match(formatMoney(1234, "CNY"), /12\.34/);
  assert.match(formatMoney(500, "JPY"), /500/);
});

test("one of a thing reads in the singular where the language has one", async () => {
  const { setLocale, t } = await import("../static/js/lib/i18n.js");
  setLocale("en");
  assert.equal(t("imp.counts", { count: 1, created: "1", duplicates: "0", rejected: "0" }),
    "1 task made, 0 duplicates, 0 refused");
  assert.equal(t("imp.counts", { count: 2, created: "2", duplicates: "0", rejected: "0" }),
    "2 tasks made, 0 duplicates, 0 refused");
  assert.equal(t("home.left", { count: 1 }), "1 task left");
  setLocale("zh-CN");  // Chinese has no plural: the one message serves
  assert.equal(t("home.left", { count: 1 }), "剩余 1 个任务");
  setLocale("en");
});
