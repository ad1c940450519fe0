import { test } from "node:test";
import assert from "node:assert/strict";
import {
  comboOf, createKeymap, DEFAULT_BINDINGS, GROUPS, helpRows, isTypingTarget, match, parseCombo, prettyCombo,
  projectBindings,
} from "../static/js/annotate/shortcuts.js";

const key = (k, mods = {}) => ({ key: k, code: "", ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

test("comboOf names plain keys, letters lower-cased", () => {
  assert.equal(comboOf(key("v")), "v");
  assert.equal(comboOf(key("V")), "v"); // caps lock
  assert.equal(comboOf(key("1")), "1");
  assert.equal(comboOf(key("Delete")), "delete");
  assert.equal(comboOf(key("Backspace")), "backspace");
  assert.equal(comboOf(key("Escape")), "escape");
  assert.equal(comboOf(key("Esc")), "escape");
  assert.equal(comboOf(key("Tab")), "tab");
  assert.equal(comboOf(key(" ")), "space");
  assert.equal(comboOf(key("ArrowLeft")), "arrowleft");
});

test("comboOf keeps shift for letters and named keys but not for symbols that already show it", () => {
  assert.equal(comboOf(key("?", { shiftKey: true })), "?");
  assert.equal(comboOf(key("+", { shiftKey: true })), "+");
  assert.equal(comboOf(key("!", { shiftKey: true })), "!");
  assert.equal(comboOf(key("H", { shiftKey: true })), "shift+h");
  assert.equal(comboOf(key("a", { shiftKey: true })), "shift+a");
  assert.equal(comboOf(key("Tab", { shiftKey: true })), "shift+tab");
  assert.equal(comboOf(key(" ", { shiftKey: true })), "shift+space");
});

test("comboOf orders modifiers ctrl, alt, shift and counts meta as ctrl", () => {
  assert.equal(comboOf(key("Z", { ctrlKey: true, shiftKey: true })), "ctrl+shift+z");
  assert.equal(comboOf(key("z", { metaKey: true, shiftKey: true })), "ctrl+shift+z");
  assert.equal(comboOf(key("z", { metaKey: true })), "ctrl+z");
  assert.equal(comboOf(key("Enter", { ctrlKey: true })), "ctrl+enter");
  assert.equal(comboOf(key("k", { altKey: true, ctrlKey: true, shiftKey: true })), "ctrl+alt+shift+k");
  assert.equal(comboOf(key("+", { ctrlKey: true, shiftKey: true })), "ctrl++");
});

test("comboOf reads full-width symbols as ASCII and non-Latin letters by their physical key", () => {
  assert.equal(comboOf(key("？", { shiftKey: true, code: "Slash" })), "?"); // Chinese punctuation mode
  assert.equal(comboOf(key("я", { ctrlKey: true, code: "KeyZ" })), "ctrl+z"); // Russian layout
  assert.equal(comboOf(key("м", { code: "KeyV" })), "v");
  assert.equal(comboOf(key("é", { code: "Digit2" })), "é"); // AZERTY digit row stays as typed
  assert.equal(comboOf(key("˚", { altKey: true, code: "KeyK" })), "alt+k"); // macOS Option+K
});

test("comboOf gives null for bare modifiers, IME composition and dead keys", () => {
  for (const k of ["Shift", "Control", "Alt", "Meta", "CapsLock", "Process", "Dead", "Unidentified", ""]) {
    assert.equal(comboOf(key(k, { shiftKey: k === "Shift" })), null, k);
  }
  assert.equal(comboOf({ ...key("a"), isComposing: true }), null);
  assert.equal(comboOf(null), null);
});

test("parseCombo normalises written combos to comboOf's form", () => {
  assert.equal(parseCombo("Ctrl+Shift+Z"), "ctrl+shift+z");
  assert.equal(parseCombo("shift+ctrl+z"), "ctrl+shift+z");
  assert.equal(parseCombo("Cmd+Enter"), "ctrl+enter");
  assert.equal(parseCombo("Meta+Y"), "ctrl+y");
  assert.equal(parseCombo("Option+K"), "alt+k");
  assert.equal(parseCombo("Delete"), "delete");
  assert.equal(parseCombo("Del"), "delete");
  assert.equal(parseCombo("Esc"), "escape");
  assert.equal(parseCombo("Space"), "space");
  assert.equal(parseCombo(" "), "space");
  assert.equal(parseCombo("+"), "+");
  assert.equal(parseCombo("Ctrl++"), "ctrl++");
  assert.equal(parseCombo("Ctrl+Plus"), "ctrl++");
  assert.equal(parseCombo("-"), "-");
  assert.equal(parseCombo("?"), "?");
  assert.equal(parseCombo("Shift+?"), "?");
  assert.equal(parseCombo("Shift+Tab"), "shift+tab");
});

test("parseCombo rejects empty combos, unknown modifiers and modifier-only combos", () => {
  assert.throws(() => parseCombo(""), /Empty/);
  assert.throws(() => parseCombo("Hyper+X"), /Unknown modifier/);
  assert.throws(() => parseCombo("Ctrl"), /no key/);
  assert.throws(() => parseCombo("Ctrl+Shift"), /no key/);
});

test("parseCombo of comboOf's output, and of its pretty form, gives the same combo back", () => {
  const events = [
    key("Z", { ctrlKey: true, shiftKey: true }), key("?", { shiftKey: true }), key("+"), key("+", { ctrlKey: true }),
    key("Enter", { metaKey: true }), key(" "), key("Delete"), key("1"), key("h", { shiftKey: true }),
    key("Tab", { shiftKey: true }), key("-", { altKey: true }), key("Escape"), key("ArrowUp", { shiftKey: true }),
  ];
  for (const e of events) {
    const combo = comboOf(e);
    assert.equal(parseCombo(combo), combo);
    if (!combo.includes("arrow")) assert.equal(parseCombo(prettyCombo(combo)), combo, prettyCombo(combo));
  }
});

test("prettyCombo writes combos for display", () => {
  assert.equal(prettyCombo("ctrl+shift+z"), "Ctrl+Shift+Z");
  assert.equal(prettyCombo("delete"), "Delete");
  assert.equal(prettyCombo("space"), "Space");
  assert.equal(prettyCombo("escape"), "Esc");
  assert.equal(prettyCombo("ctrl++"), "Ctrl++");
  assert.equal(prettyCombo("+"), "+");
  assert.equal(prettyCombo("shift+tab"), "Shift+Tab");
  assert.equal(prettyCombo("ctrl+enter", { mac: true }), "⌘+Enter");
});

const BINDINGS = [
  { keys: ["ctrl+z"], action: "undo", group: "edit", description: { en: "Undo", zh: "撤销" } },
  { keys: ["Ctrl+Shift+Z", "ctrl+y"], action: "redo", group: "edit", description: { en: "Redo", zh: "重做" } },
  { keys: ["?"], action: "help", group: "task", description: { en: "Help", zh: "帮助" } },
  { keys: ["b"], action: "bbox", group: "tools", description: { en: "Box" } },
];

test("match finds the action bound to an event, or null", () => {
  const keymap = createKeymap(BINDINGS);
  assert.equal(match(keymap, key("z", { ctrlKey: true })), "undo");
  assert.equal(match(keymap, key("Z", { metaKey: true, shiftKey: true })), "redo");
  assert.equal(match(keymap, key("y", { ctrlKey: true })), "redo");
  assert.equal(match(keymap, key("?", { shiftKey: true })), "help");
  assert.equal(match(keymap, key("z")), null);
  assert.equal(match(keymap, key("B", { shiftKey: true })), null);
  assert.equal(match(keymap, key("Shift", { shiftKey: true })), null);
});

test("createKeymap throws when a combo is bound twice, however it is written", () => {
  assert.throws(() => createKeymap([...BINDINGS, { keys: ["Cmd+Z"], action: "other" }]), /"ctrl\+z" is bound to both "undo" and "other"/);
  assert.throws(() => createKeymap([{ keys: ["a", "A"], action: "one" }]), /bound to both/);
});

test("DEFAULT_BINDINGS has every workspace action with both languages and no combo twice", () => {
  const actions = DEFAULT_BINDINGS.map((b) => b.action);
  const expected = {
    select: ["v"], bbox: ["b"], polygon: ["p"], keypoint: ["k"], span: ["s"], hide: ["h"], hideAll: ["shift+h"],
    delete: ["delete", "backspace"], undo: ["ctrl+z"], redo: ["ctrl+shift+z", "ctrl+y"], submit: ["ctrl+enter"],
    skip: ["shift+s"], flag: ["shift+f"], zoomIn: ["+", "="], zoomOut: ["-"], fit: ["0"], search: ["/", "l"],
    cancel: ["escape"], nextObject: ["tab"], previousObject: ["shift+tab"], help: ["?"],
  };
  for (let n = 1; n <= 9; n++) expected[`recent${n}`] = [String(n)];
  assert.deepEqual([...actions].sort(), Object.keys(expected).sort());
  const groups = new Set(GROUPS.map((g) => g.id));
  for (const b of DEFAULT_BINDINGS) {
    assert.deepEqual(b.keys.map(parseCombo), expected[b.action], b.action);
    assert.ok(groups.has(b.group), `${b.action} group ${b.group}`);
    assert.ok(b.description.en && b.description.zh, `${b.action} descriptions`);
  }
  const keymap = createKeymap(DEFAULT_BINDINGS); // throws on a duplicate combo
  assert.equal(keymap.byCombo.size, DEFAULT_BINDINGS.reduce((n, b) => n + b.keys.length, 0));
  assert.equal(match(keymap, key("Z", { ctrlKey: true, shiftKey: true })), "redo");
  assert.equal(match(keymap, key("S", { shiftKey: true })), "skip");
  assert.equal(match(keymap, key("s")), "span");
  assert.equal(match(keymap, key("+", { shiftKey: true })), "zoomIn");
  assert.equal(match(keymap, key("3")), "recent3");
  assert.equal(match(keymap, key("?", { shiftKey: true })), "help");
  assert.equal(match(keymap, key(" ")), null); // pan is space+drag, handled by the mouse code
  assert.ok(Object.isFrozen(DEFAULT_BINDINGS) && Object.isFrozen(DEFAULT_BINDINGS[0]));
});

test("helpRows lists pretty keys and descriptions by group, in English and Chinese", () => {
  const keymap = createKeymap(BINDINGS);
  assert.deepEqual(helpRows(keymap, "en"), [
    { group: "tools", action: "bbox", keys: ["B"], description: "Box" },
    { group: "edit", action: "undo", keys: ["Ctrl+Z"], description: "Undo" },
    { group: "edit", action: "redo", keys: ["Ctrl+Shift+Z", "Ctrl+Y"], description: "Redo" },
    { group: "task", action: "help", keys: ["?"], description: "Help" },
  ]);
  const zh = helpRows(keymap, "zh");
  assert.deepEqual(zh.map((r) => r.description), ["Box", "撤销", "重做", "帮助"]); // falls back to English
  assert.deepEqual(helpRows(keymap, "zh-CN").map((r) => r.description), zh.map((r) => r.description));
  const defaults = helpRows(createKeymap(DEFAULT_BINDINGS), "zh");
  assert.deepEqual(defaults.find((r) => r.action === "delete"), { group: "edit", action: "delete", keys: ["Delete", "Backspace"], description: "删除选中的对象" });
  assert.deepEqual([...new Set(defaults.map((r) => r.group))], ["tools", "edit", "view", "task", "labels"]);
  assert.equal(defaults.length, DEFAULT_BINDINGS.length);
});

test("isTypingTarget is true for text fields and contenteditable, false otherwise", () => {
  assert.equal(isTypingTarget({ tagName: "INPUT" }), true);
  assert.equal(isTypingTarget({ tagName: "textarea" }), true);
  assert.equal(isTypingTarget({ tagName: "SELECT" }), true);
  assert.equal(isTypingTarget({ tagName: "DIV", isContentEditable: true }), true);
  assert.equal(isTypingTarget({ tagName: "DIV", isContentEditable: false }), false);
  assert.equal(isTypingTarget({ tagName: "CANVAS" }), false);
  assert.equal(isTypingTarget(null), false);
  assert.equal(isTypingTarget(undefined), false);
});

test("projectBindings keeps only the keys a project's tools and media use", () => {
  const actions = (project) => projectBindings(DEFAULT_BINDINGS, project).map((b) => b.action);
  const boxes = actions({ tools: ["bbox"], mediaType: "image" });
  for (const used of ["select", "bbox", "delete", "nextObject", "hide", "zoomIn", "fit", "undo", "submit", "search", "recent1", "help"]) {
    assert.ok(boxes.includes(used), used);
  }
  for (const unused of ["polygon", "keypoint", "span"]) assert.ok(!boxes.includes(unused), unused);

  const spans = actions({ tools: ["classify", "span"], mediaType: "text" });
  assert.ok(spans.includes("span") && spans.includes("delete") && spans.includes("cancel"));
  for (const unused of ["select", "bbox", "polygon", "keypoint", "hide", "hideAll", "nextObject", "zoomIn", "zoomOut", "fit"]) {
    assert.ok(!spans.includes(unused), unused);
  }

  const classify = actions({ tools: ["classify"], mediaType: "image" }); // labels on a picture: zoom, nothing to draw
  assert.deepEqual(classify.filter((a) => !a.startsWith("recent")),
    ["undo", "redo", "zoomIn", "zoomOut", "fit", "submit", "skip", "flag", "help", "search"]);
  const rows = helpRows(createKeymap(projectBindings(DEFAULT_BINDINGS, { tools: ["classify"], mediaType: "text" })), "en");
  assert.ok(!rows.some((row) => row.group === "tools" || row.group === "view")); // no empty groups either
  assert.equal(actions({}).includes("bbox"), false); // a project not loaded: no tools
});
