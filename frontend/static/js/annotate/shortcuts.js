// Keyboard bindings for the labelling workspace: normalised combos, a keymap, the default bindings
// and the rows of the help overlay. DOM-free so node can test it.
//
// A combo is a lower-case string: modifiers in the order ctrl, alt, shift, then the key, joined by "+",
// e.g. "ctrl+shift+z", "ctrl+enter", "delete", "?", "+", "ctrl++", "space", "shift+tab".
// metaKey (⌘) counts as ctrl. Shift is only kept for letters and named keys: "?" or "+" already say
// that shift was held.

const MODIFIER_KEYS = new Set(["control", "shift", "alt", "altgraph", "meta", "os", "capslock", "fn", "fnlock",
  "hyper", "super", "symbol", "symbollock", "numlock", "scrolllock", "ctrl", "cmd", "command", "option"]);
const IGNORED_KEYS = new Set(["process", "unidentified", "dead"]);
const KEY_ALIASES = new Map([
  [" ", "space"], ["spacebar", "space"], ["esc", "escape"], ["del", "delete"], ["return", "enter"],
  ["plus", "+"], ["up", "arrowup"], ["down", "arrowdown"], ["left", "arrowleft"], ["right", "arrowright"],
]);
const MODIFIER_ALIASES = new Map([
  ["ctrl", "ctrl"], ["control", "ctrl"], ["meta", "ctrl"], ["cmd", "ctrl"], ["command", "ctrl"], ["mod", "ctrl"],
  ["alt", "alt"], ["option", "alt"], ["opt", "alt"], ["shift", "shift"],
]);

// A single printable character (one code point).
function isSingleChar(key) {
  return key.length === 1 || (key.length === 2 && [...key].length === 1);
}

// Letters are the characters with case; shift is kept for them ("shift+a").
function isLetter(ch) {
  return ch.toLowerCase() !== ch.toUpperCase();
}

// Normalises a key name (not modifiers). Returns null for keys that are never shortcuts.
// `code` (the physical key) replaces a non-ASCII letter, or with `alt` any non-ASCII character
// (macOS Option+K types "˚"), by the key's Latin letter.
function normalizeKey(key, code, alt = false) {
  if (typeof key !== "string" || key === "") return null;
  if (key === " ") return "space";
  if (isSingleChar(key)) {
    let ch = key.normalize("NFKC"); // full-width "？" from a Chinese IME is "?"
    if (!isSingleChar(ch)) ch = key;
    ch = ch.toLowerCase();
    // Non-Latin layouts (Russian, Greek...): use the physical letter so "v" still selects.
    if (ch.charCodeAt(0) > 127 && (isLetter(ch) || alt) && typeof code === "string") {
      const m = /^Key([A-Z])$/.exec(code);
      if (m) ch = m[1].toLowerCase();
    }
    return ch;
  }
  const named = key.toLowerCase();
  if (MODIFIER_KEYS.has(named) || IGNORED_KEYS.has(named)) return null;
  return KEY_ALIASES.get(named) ?? named;
}

// Joins modifiers and a normalised key, keeping shift only for letters and named keys.
function joinCombo(ctrl, alt, shift, key) {
  const keepShift = shift && (key.length > 1 || isLetter(key));
  return `${ctrl ? "ctrl+" : ""}${alt ? "alt+" : ""}${keepShift ? "shift+" : ""}${key}`;
}

/**
 * The normalised combo of a KeyboardEvent-like object `{key, code, ctrlKey, metaKey, shiftKey, altKey}`.
 * @param {object} event
 * @returns {string|null} null for bare modifiers, IME composition ("Process") and dead keys
 */
export function comboOf(event) {
  if (!event || event.isComposing) return null;
  const key = normalizeKey(event.key, event.code, !!event.altKey);
  if (key === null) return null;
  return joinCombo(!!(event.ctrlKey || event.metaKey), !!event.altKey, !!event.shiftKey, key);
}

/**
 * Normalises a written combo: "Ctrl+Shift+Z" -> "ctrl+shift+z", "Cmd+Enter" -> "ctrl+enter",
 * "Esc" -> "escape", "Ctrl++" -> "ctrl++", " " -> "space". Shift with a non-letter symbol is dropped
 * ("Shift+?" -> "?"), as comboOf never reports it.
 * @param {string} text
 * @returns {string}
 * @throws {Error} for an empty combo or an unknown modifier
 */
export function parseCombo(text) {
  if (text === " ") return "space";
  const source = String(text ?? "").trim();
  if (source === "") throw new Error("Empty key combo.");
  let rest = source;
  let key;
  if (rest === "+") { key = "+"; rest = ""; }
  else if (rest.endsWith("++")) { key = "+"; rest = rest.slice(0, -2); }
  else {
    const at = rest.lastIndexOf("+");
    key = rest.slice(at + 1);
    rest = at < 0 ? "" : rest.slice(0, at);
  }
  const mods = { ctrl: false, alt: false, shift: false };
  for (const part of rest === "" ? [] : rest.split("+")) {
    const mod = MODIFIER_ALIASES.get(part.trim().toLowerCase());
    if (!mod) throw new Error(`Unknown modifier "${part}" in key combo "${source}".`);
    mods[mod] = true;
  }
  const trimmed = key.trim();
  const normal = normalizeKey(KEY_ALIASES.get(trimmed.toLowerCase()) ?? trimmed, undefined);
  if (normal === null) throw new Error(`"${source}" has no key to press.`);
  return joinCombo(mods.ctrl, mods.alt, mods.shift, normal);
}

/**
 * A keymap from bindings `[{keys: ["ctrl+z"], action, group, description: {en, zh}}]`.
 * Keys are normalised with parseCombo; `keymap.bindings` holds the bindings with normalised keys.
 * @param {Array<{keys: string[], action: string, group?: string, description?: object}>} bindings
 * @returns {{bindings: object[], byCombo: Map<string, object>}}
 * @throws {Error} when a combo is bound twice
 */
export function createKeymap(bindings) {
  const byCombo = new Map();
  const normalised = [];
  for (const binding of bindings) {
    const keys = binding.keys.map(parseCombo);
    const entry = { ...binding, keys };
    for (const combo of keys) {
      const other = byCombo.get(combo);
      if (other) throw new Error(`"${combo}" is bound to both "${other.action}" and "${binding.action}".`);
      byCombo.set(combo, entry);
    }
    normalised.push(entry);
  }
  return { bindings: normalised, byCombo };
}

/**
 * The action bound to a keyboard event, or null. Does not check the event's target: skip events from
 * text fields with isTypingTarget first.
 * @param {{byCombo: Map<string, object>}} keymap
 * @param {object} event
 * @returns {string|null}
 */
export function match(keymap, event) {
  const combo = comboOf(event);
  if (combo === null) return null;
  return keymap.byCombo.get(combo)?.action ?? null;
}

/** Names of the binding groups, in the order the help shows them. */
export const GROUPS = Object.freeze([
  Object.freeze({ id: "tools", en: "Tools", zh: "工具" }),
  Object.freeze({ id: "edit", en: "Edit", zh: "编辑" }),
  Object.freeze({ id: "view", en: "View", zh: "视图" }),
  Object.freeze({ id: "task", en: "Task", zh: "任务" }),
  Object.freeze({ id: "labels", en: "Labels", zh: "标签" }),
]);

const bind = (action, keys, group, en, zh) =>
  Object.freeze({ action, keys: Object.freeze(keys), group, description: Object.freeze({ en, zh }) });

const ORDINALS_EN = ["", "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th"];

/**
 * The workspace's default bindings (frozen). Panning is space+drag with the mouse, so not a binding.
 * Tab/shift+tab and the letter keys need preventDefault() in the page when they match.
 */
export const DEFAULT_BINDINGS = Object.freeze([
  bind("select", ["v"], "tools", "Select and move", "选择/移动"),
  bind("bbox", ["b"], "tools", "Bounding box", "矩形框"),
  bind("polygon", ["p"], "tools", "Polygon", "多边形"),
  bind("keypoint", ["k"], "tools", "Keypoint", "关键点"),
  bind("span", ["s"], "tools", "Text span", "文本片段"),
  bind("undo", ["ctrl+z"], "edit", "Undo", "撤销"),
  bind("redo", ["ctrl+shift+z", "ctrl+y"], "edit", "Redo", "重做"),
  bind("delete", ["delete", "backspace"], "edit", "Delete the selected object", "删除选中的对象"),
  bind("nextObject", ["tab"], "edit", "Select the next object", "选择下一个对象"),
  bind("previousObject", ["shift+tab"], "edit", "Select the previous object", "选择上一个对象"),
  bind("cancel", ["escape"], "edit", "Cancel drawing or deselect", "取消绘制或取消选择"),
  bind("hide", ["h"], "view", "Hide or show the selected object", "隐藏/显示选中的对象"),
  bind("hideAll", ["shift+h"], "view", "Hide or show all objects", "隐藏/显示全部对象"),
  bind("zoomIn", ["+", "="], "view", "Zoom in", "放大"),
  bind("zoomOut", ["-"], "view", "Zoom out", "缩小"),
  bind("fit", ["0"], "view", "Fit to the window", "适应窗口"),
  bind("submit", ["ctrl+enter"], "task", "Submit", "提交"),
  bind("skip", ["shift+s"], "task", "Skip this item", "跳过此条目"),
  bind("flag", ["shift+f"], "task", "Flag this item for review", "标记此条目待审核"),
  bind("help", ["?"], "task", "Show keyboard shortcuts", "显示快捷键"),
  bind("search", ["/", "l"], "labels", "Search labels", "搜索标签"),
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) =>
    bind(`recent${n}`, [String(n)], "labels", `${ORDINALS_EN[n]} most recent label`, `最近使用的第 ${n} 个标签`)),
]);

const GEOMETRY = ["bbox", "polygon", "keypoint"];
// What a binding needs of the project to be of any use; bindings not named here serve every project.
const NEEDS = {
  select: (p) => p.geometry,
  bbox: (p) => p.tools.includes("bbox"),
  polygon: (p) => p.tools.includes("polygon"),
  keypoint: (p) => p.tools.includes("keypoint"),
  span: (p) => p.tools.includes("span"),
  delete: (p) => p.geometry || p.tools.includes("span"),
  cancel: (p) => p.geometry || p.tools.includes("span"),
  nextObject: (p) => p.geometry,
  previousObject: (p) => p.geometry,
  hide: (p) => p.geometry,
  hideAll: (p) => p.geometry,
  zoomIn: (p) => p.image,
  zoomOut: (p) => p.image,
  fit: (p) => p.image,
};

/**
 * The bindings a project uses: its own tools' keys, the object keys only when it draws, zoom only on images;
 * undo, answering, search and the recent labels always. The keymap and the help are made from these, so
 * neither mentions a tool the project does not have.
 * @param {object[]} bindings e.g. DEFAULT_BINDINGS
 * @param {{tools?: string[], mediaType?: string}} project the label schema's tools, the project's media type
 * @returns {object[]}
 */
export function projectBindings(bindings, { tools = [], mediaType = "" } = {}) {
  const project = { tools, geometry: tools.some((tool) => GEOMETRY.includes(tool)), image: mediaType === "image" };
  return bindings.filter((binding) => !NEEDS[binding.action] || NEEDS[binding.action](project));
}

const PRETTY_KEYS = new Map([
  ["escape", "Esc"], ["arrowup", "↑"], ["arrowdown", "↓"], ["arrowleft", "←"], ["arrowright", "→"],
  ["pageup", "PageUp"], ["pagedown", "PageDown"],
]);

/**
 * A combo for display: "ctrl+shift+z" -> "Ctrl+Shift+Z", "delete" -> "Delete", "space" -> "Space".
 * With `{mac: true}` ctrl shows as "⌘" and alt as "⌥".
 * @param {string} combo a normalised combo
 * @param {{mac?: boolean}} [options]
 * @returns {string}
 */
export function prettyCombo(combo, { mac = false } = {}) {
  let key = combo;
  let mods = [];
  if (combo !== "+") {
    const cut = combo.endsWith("++") ? combo.length - 2 : combo.lastIndexOf("+");
    if (cut >= 0) {
      key = combo.slice(cut + 1);
      mods = combo.slice(0, cut).split("+");
    }
  }
  const modName = { ctrl: mac ? "⌘" : "Ctrl", alt: mac ? "⌥" : "Alt", shift: "Shift" };
  const keyName = PRETTY_KEYS.get(key) ?? (key.length > 1 ? key[0].toUpperCase() + key.slice(1) : key.toUpperCase());
  return [...mods.map((m) => modName[m] ?? m), keyName].join("+");
}

// The description in a language ("zh-CN" falls back to "zh"), then English, then any, then the action.
function describe(binding, lang) {
  const d = binding.description || {};
  const base = String(lang || "").split(/[-_]/)[0];
  return d[lang] ?? d[base] ?? d.en ?? Object.values(d)[0] ?? binding.action;
}

/**
 * Rows for the help overlay, `[{group, action, keys: ["Ctrl+Z"], description}]`, grouped in the order of
 * GROUPS (unknown groups after, in order of appearance), bindings in keymap order within a group.
 * @param {{bindings: object[]}} keymap
 * @param {string} lang "en" or "zh" (or "zh-CN"...)
 * @param {{mac?: boolean}} [options] passed to prettyCombo
 * @returns {Array<{group: string, action: string, keys: string[], description: string}>}
 */
export function helpRows(keymap, lang, options = {}) {
  const order = GROUPS.map((g) => g.id);
  for (const b of keymap.bindings) if (!order.includes(b.group ?? "")) order.push(b.group ?? "");
  const rows = keymap.bindings.map((b) => ({
    group: b.group ?? "",
    action: b.action,
    keys: b.keys.map((k) => prettyCombo(k, options)),
    description: describe(b, lang),
  }));
  return order.flatMap((g) => rows.filter((r) => r.group === g));
}

/**
 * Whether keys pressed in this element are typing (INPUT, TEXTAREA, SELECT or contenteditable),
 * so shortcuts should leave them alone.
 * @param {{tagName?: string, isContentEditable?: boolean}|null} target
 * @returns {boolean}
 */
export function isTypingTarget(target) {
  if (!target) return false;
  if (target.isContentEditable === true) return true;
  const tag = typeof target.tagName === "string" ? target.tagName.toUpperCase() : "";
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}
