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

test("once keeps a body's Idempotency-Key until the server has answered, then starts afresh", async () => {
  const { once, forgetCsrf } = await import("../static/js/lib/api.js");
  const keys = [];
  let fail = true;
  globalThis.fetch = async (path, options) => {
    const json = (status, body) => ({ status, ok: status < 400, headers: { get: () => "application/json" },
      json: async () => body });
    if (path === "/api/v1/auth/csrf") return json(200, { csrf_token: "t" });
    keys.push(options.headers["Idempotency-Key"]);
    return fail ? json(503, { status: 503, title: "down" }) : json(201, { id: keys.length });
  };
  forgetCsrf();
  let n = 0;
  const post = once("payout", () => String(++n));
  await assert.rejects(post("/api/v1/payouts", { amount: 5 }));
  fail = false;
  await post("/api/v1/payouts", { amount: 5 }); // the retry: the same key, so the server replays, never repeats
  await post("/api/v1/payouts", { amount: 5 }); // a new request after a success: a new key
  await post("/api/v1/payouts", { amount: 7 }); // a new body: a new key
  assert.deepEqual(keys, ["payout-1", "payout-1", "payout-2", "payout-3"]);
});

test("writes started together ask for the CSRF token once and all send it", async () => {
  const { request, forgetCsrf } = await import("../static/js/lib/api.js");
  let asked = 0;
  const sent = [];
  globalThis.fetch = async (path, options) => {
    const json = (status, body) => ({ status, ok: status < 400, headers: { get: () => "application/json" },
      json: async () => body });
    if (path === "/api/v1/auth/csrf") {
      asked += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return json(200, { csrf_token: `token-${asked}` });
    }
    sent.push(options.headers["X-CSRF-Token"]);
    return json(202, {});
  };
  forgetCsrf();
  await Promise.all([1, 2, 3, 4, 5].map((n) => request("POST", "/api/v1/simulations", { n })));
  assert.equal(asked, 1);
  assert.deepEqual(sent, ["token-1", "token-1", "token-1", "token-1", "token-1"]);
});

test("describeProblem does not repeat a field's message the detail already says", () => {
  const text = describeProblem({ status: 422, detail: "amount: Your available balance is 2.98 CNY.",
    errors: { amount: ["Your available balance is 2.98 CNY."] } });
  assert.equal(text, "amount: Your available balance is 2.98 CNY.");
});
