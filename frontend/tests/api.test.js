import { test } from "node:test";
import assert from "node:assert/strict";
import { describeProblem } from "../static/js/lib/api.js";

test("describeProblem gives the detail then every field's messages", () => {
  const text = describeProblem({
    status: 422, title: "Some fields are invalid", detail: "Check the fields.",
    errors: { email: ["Not a valid email address."], password: ["Use at least 10 characters.", "Too common."] },
  });
  assert.equal(text, "Check the fields.\nemail: Not a valid email address.\npassword: Use at least 10 characters. Too common.");
});

test("describeProblem falls back to the title, then the status", () => {
  assert.equal(describeProblem({ status: 404, title: "Not Found" }), "Not Found");
  assert.equal(describeProblem({ status: 502 }), "Error 502");
});
