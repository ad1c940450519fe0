import { test } from "node:test";
import assert from "node:assert/strict";
import { roleKey } from "../static/js/lib/projects.js";

test("the project list says private, not open to all, for an administrator outside a private project", () => {
  assert.equal(roleKey({ role: "owner", visibility: "private" }), "home.role.owner");
  assert.equal(roleKey({ role: null, visibility: "public" }), "home.role.public");
  assert.equal(roleKey({ role: null, visibility: "private" }), "home.role.privateAdmin");
});
