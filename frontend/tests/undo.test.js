import { test } from "node:test";
import assert from "node:assert/strict";
import { breakCoalescing, canRedo, canUndo, commit, createHistory, redo, undo } from "../static/js/annotate/undo.js";

const doc = (n) => ({ boxes: n });

test("a new history has the present, nothing to undo or redo and the default limit of 200", () => {
  const present = doc(0);
  const h = createHistory(present);
  assert.deepEqual(h, { past: [], present, future: [], limit: 200, lastKey: null });
  assert.equal(canUndo(h), false);
  assert.equal(canRedo(h), false);
  assert.equal(createHistory(present, { limit: 5 }).limit, 5);
  assert.throws(() => createHistory(present, { limit: -1 }), RangeError);
});

test("commit makes the new state present and the old one an undo step, without touching the old history", () => {
  const a = doc(0), b = doc(1);
  const h0 = createHistory(a);
  const h1 = commit(h0, b);
  assert.equal(h1.present, b);
  assert.deepEqual(h1.past, [a]);
  assert.ok(canUndo(h1));
  assert.deepEqual(h0, { past: [], present: a, future: [], limit: 200, lastKey: null });
});

test("committing the present itself returns the same history", () => {
  const h = commit(createHistory(doc(0)), doc(1));
  assert.equal(commit(h, h.present), h);
  assert.equal(commit(h, h.present, { coalesce: "drag" }), h);
});

test("undo and redo step back and forward through the states", () => {
  const a = doc(0), b = doc(1), c = doc(2);
  let h = commit(commit(createHistory(a), b), c);
  h = undo(h);
  assert.equal(h.present, b);
  assert.ok(canRedo(h));
  h = undo(h);
  assert.equal(h.present, a);
  assert.equal(canUndo(h), false);
  assert.deepEqual(h.future, [b, c]);
  h = redo(h);
  assert.equal(h.present, b);
  h = redo(h);
  assert.equal(h.present, c);
  assert.equal(canRedo(h), false);
  assert.deepEqual(h.past, [a, b]);
});

test("undo and redo with nothing to do return the same history", () => {
  const h = createHistory(doc(0));
  assert.equal(undo(h), h);
  assert.equal(redo(h), h);
  const h1 = commit(h, doc(1));
  assert.equal(redo(h1), h1);
});

test("a new commit after undo clears the redo future", () => {
  const a = doc(0), b = doc(1), c = doc(2);
  let h = undo(commit(createHistory(a), b));
  assert.ok(canRedo(h));
  h = commit(h, c);
  assert.equal(canRedo(h), false);
  assert.deepEqual(h.future, []);
  assert.deepEqual(h.past, [a]);
  assert.equal(h.present, c);
});

test("commits with the same coalesce key in a row make one undo step", () => {
  const start = doc(0);
  let h = createHistory(start);
  const moves = [];
  for (let i = 1; i <= 100; i++) {
    moves.push(doc(i));
    h = commit(h, moves[i - 1], { coalesce: "drag:box1" });
  }
  assert.equal(h.present, moves[99]);
  assert.deepEqual(h.past, [start]);
  assert.equal(h.lastKey, "drag:box1");
  assert.equal(undo(h).present, start);
});

test("a different coalesce key, no key or an empty key starts a new step", () => {
  const a = doc(0), b = doc(1), c = doc(2), d = doc(3), e = doc(4), f = doc(5);
  let h = commit(createHistory(a), b, { coalesce: "drag:1" });
  h = commit(h, c, { coalesce: "drag:2" });
  assert.deepEqual(h.past, [a, b]);
  h = commit(h, d);
  assert.deepEqual(h.past, [a, b, c]);
  assert.equal(h.lastKey, null);
  h = commit(h, e, { coalesce: "" });
  h = commit(h, f, { coalesce: "" });
  assert.deepEqual(h.past, [a, b, c, d, e]);
});

test("breakCoalescing (on mouseup) makes the next drag a separate undo step", () => {
  const a = doc(0), b = doc(1), c = doc(2);
  let h = commit(createHistory(a), b, { coalesce: "drag" });
  h = breakCoalescing(h);
  assert.equal(h.lastKey, null);
  h = commit(h, c, { coalesce: "drag" });
  assert.deepEqual(h.past, [a, b]);
  assert.equal(undo(h).present, b);
  const plain = createHistory(a);
  assert.equal(breakCoalescing(plain), plain);
});

test("undo and redo end coalescing", () => {
  const a = doc(0), b = doc(1), c = doc(2), d = doc(3);
  let h = commit(commit(createHistory(a), b, { coalesce: "drag" }), c);
  h = commit(h, d, { coalesce: "drag" });
  h = undo(h);
  assert.equal(h.lastKey, null);
  h = redo(h);
  assert.equal(h.lastKey, null);
  const e = doc(4);
  h = commit(h, e, { coalesce: "drag" });
  assert.deepEqual(h.past, [a, b, c, d]);
});

test("the past is capped at the limit, dropping the oldest states", () => {
  const states = Array.from({ length: 10 }, (_, i) => doc(i));
  let h = createHistory(states[0], { limit: 3 });
  for (const s of states.slice(1)) h = commit(h, s);
  assert.deepEqual(h.past, [states[6], states[7], states[8]]);
  h = undo(undo(undo(h)));
  assert.equal(h.present, states[6]);
  assert.equal(canUndo(h), false);
  h = redo(redo(redo(h)));
  assert.equal(h.present, states[9]);
  assert.equal(h.past.length, 3);
});

test("a limit of 0 keeps no undo steps", () => {
  const h = commit(createHistory(doc(0), { limit: 0 }), doc(1));
  assert.deepEqual(h.past, []);
  assert.equal(canUndo(h), false);
});
