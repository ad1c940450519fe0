import { test } from "node:test";
import assert from "node:assert/strict";
import { pages, queryString } from "../static/js/lib/paging.js";
import { tabAfterKey } from "../static/js/components/tabs.js";
import { MESSAGES } from "../static/js/lib/i18n.js";

test("a paged answer says how many pages there are and which way one can go", () => {
  assert.deepEqual(pages({ page: 1, per_page: 20, total: 0 }),
    { page: 1, count: 1, total: 0, hasPrevious: false, hasNext: false });
  assert.deepEqual(pages({ page: 1, per_page: 20, total: 20 }),
    { page: 1, count: 1, total: 20, hasPrevious: false, hasNext: false });
  assert.deepEqual(pages({ page: 2, per_page: 20, total: 41 }),
    { page: 2, count: 3, total: 41, hasPrevious: true, hasNext: true });
  assert.equal(pages({ page: 3, per_page: 20, total: 41 }).hasNext, false);
});

test("a search's query string carries only the fields filled in, encoded", () => {
  assert.equal(queryString({ q: "", status: "", page: 1 }), "page=1");
  assert.equal(queryString({ q: "李 & co", status: "admins", page: 2, per_page: 20 }),
    "q=%E6%9D%8E+%26+co&status=admins&page=2&per_page=20");
});

test("arrow keys move round the tabs, Home and End go to the ends, other keys do nothing", () => {
  assert.equal(tabAfterKey("ArrowRight", 0, 3), 1);
  assert.equal(tabAfterKey("ArrowRight", 2, 3), 0);
  assert.equal(tabAfterKey("ArrowLeft", 0, 3), 2);
  assert.equal(tabAfterKey("Home", 2, 3), 0);
  assert.equal(tabAfterKey("End", 0, 3), 2);
  assert.equal(tabAfterKey("Enter", 1, 3), null);
  assert.equal(tabAfterKey("a", 1, 3), null);
});

test("every action the server audits has words in both languages", () => {
  const actions = ["account_activated", "account_deactivated", "admin_granted", "admin_revoked", "budget_deposit",
    "deposit_confirmed", "deposit_rejected", "payout_approved", "payout_rejected", "payout_requested",
    "project_created", "project_settings_changed", "member_set", "member_invited", "member_removed",
    "invitation_accepted", "invitation_withdrawn", "tasks_imported", "import_started", "export_requested",
    "answer_reviewed", "flag_resolved", "annotator_reinstated", "password_changed"];
  for (const locale of ["en", "zh-CN"]) {
    for (const action of actions) assert.ok(MESSAGES[locale][`audit.${action}`], `${locale} lacks audit.${action}`);
  }
});
