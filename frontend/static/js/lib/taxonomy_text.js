// A label taxonomy as text: owners paste JSON or an indented list and see the tree. DOM-free.
//
// Indented list: one label per line; deeper indentation (spaces, or tabs counted as 4 spaces) makes a
// child of the line above. The first indented line sets how many columns one level is. Optional "- " or
// "* " bullets are ignored, blank lines too; "Name [id]" gives an explicit id, otherwise one is made from
// the name.
//
//   鸟类 [bird]
//     莺
//       - 黄林莺
//
// JSON: an array of {id?, name, children?} or {labels: [...]} (e.g. a whole label schema); a label's
// names by language, aliases, description and color are kept as given (the server checks them), other
// fields are ignored. A taxonomy using any of those is shown as JSON (toText), since a list cannot hold them.
// Every traversal uses an explicit stack, so no input is deep enough to overflow the call stack.

/** Limits, as in tasks/schema.py except ids (the server allows 100 characters; generated ids fit 64). */
export const MAX_ID_LENGTH = 64;
export const MAX_NAME_LENGTH = 200;
export const MAX_DEPTH = 10;
export const MAX_LABELS = 20_000;

const ID = /^[a-z0-9_.-]+$/;
// Control characters (C0, DEL, C1), bidi embeddings/overrides/isolates and lone surrogates, as the server refuses.
const FORBIDDEN = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const encoder = new TextEncoder();

/**
 * Parse a pasted taxonomy.
 * @param {string} text JSON (starts with "[" or "{") or an indented list
 * @returns {{labels: Array<{id: string, name: string, children?: object[]}>, errors: Array<{line: number, message: string}>}}
 *   line is 1-based. When errors is not empty, labels is a best-effort preview (ids still unique) not to be saved.
 */
export function parseTaxonomy(text) {
  const source = (typeof text === "string" ? text : "").replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const errors = [];
  const head = source.trimStart()[0];
  const entries = head === "[" || head === "{" ? fromJson(source, errors) : fromIndented(source, errors);
  const labels = build(entries, errors);
  errors.sort((a, b) => a.line - b.line);
  return { labels, errors };
}

// Both forms first become entries in depth-first order: {name, id (explicit or null), line, nameLine,
// idLine, depth (0 at the top), parent (index of the parent entry or -1)}.

function fromIndented(source, errors) {
  const entries = [];
  const lastAtDepth = []; // entry index of the latest label at each depth
  let base = null; // columns of the first label
  let unit = null; // columns per level, from the first indented label
  let prev = null; // {depth, line} of the label above
  source.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (!raw.trim()) return;
    let width = 0;
    let k = 0;
    for (; k < raw.length && (raw[k] === " " || raw[k] === "\t"); k++) width += raw[k] === "\t" ? 4 : 1;
    let content = raw.slice(k).trim().replace(/^[-*](?:\s+|$)/, "");
    let id = null;
    if (content.endsWith("]")) {
      const open = content.lastIndexOf("[");
      const inside = open >= 0 ? content.slice(open + 1, -1) : "]";
      if (!inside.includes("]")) {
        id = inside.trim();
        content = content.slice(0, open).trim();
      }
    }

    if (base === null) base = width;
    const relative = width - base;
    let depth = 0;
    if (relative < 0) {
      errors.push({ line, message: `Indented less than the first label (line ${entries[0].line}).` });
    } else if (relative > 0) {
      unit ??= relative;
      depth = Math.round(relative / unit);
      if (relative % unit !== 0) {
        errors.push({ line, message: `Indented by ${relative} columns, which is not a multiple of the ${unit} used for one level.` });
      }
      if (depth > prev.depth + 1) {
        errors.push({ line, message: `Indented ${depth - prev.depth} levels deeper than line ${prev.line}; a child goes one level below its parent.` });
      }
    }
    depth = Math.min(depth, prev ? prev.depth + 1 : 0);
    const parent = depth > 0 ? lastAtDepth[depth - 1] : -1;
    lastAtDepth[depth] = entries.length;
    lastAtDepth.length = depth + 1;
    entries.push({ name: content, id, line, nameLine: line, idLine: line, depth, parent });
    prev = { depth, line };
  });
  return entries;
}

function fromJson(source, errors) {
  let value;
  try {
    value = JSON.parse(source);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    errors.push({ line: jsonErrorLine(source, error), message: `Not valid JSON: ${jsonErrorText(error)}.` });
    return [];
  }
  const lines = valueLines(source);
  const list = Array.isArray(value) ? value : isObject(value) && Array.isArray(value.labels) ? value.labels : null;
  if (!list) {
    errors.push({ line: 1, message: 'JSON must be an array of labels or an object with a "labels" array.' });
    return [];
  }
  const entries = [];
  const stack = [];
  const pushChildren = (array, at, depth, parent) => {
    const items = at?.items || [];
    for (let k = array.length - 1; k >= 0; k--) stack.push({ node: array[k], at: items[k], depth, parent });
  };
  pushChildren(list, Array.isArray(value) ? lines : lines.keys.get("labels"), 0, -1);
  while (stack.length) {
    const { node, at, depth, parent } = stack.pop();
    const index = entries.length;
    const entry = labelEntry(node, at, errors);
    if (!entry) continue;
    entry.depth = depth;
    entry.parent = parent;
    entries.push(entry);
    const children = node.children;
    if (Array.isArray(children)) pushChildren(children, at?.keys?.get("children"), depth + 1, index);
    else if (children !== undefined && children !== null) {
      errors.push({ line: keyLine(at, "children"), message: '"children" must be an array of labels.' });
    }
  }
  return entries;
}

/** One JSON label as an entry, its place in the tree still to be set (null when it is not an object). */
function labelEntry(node, at, errors) {
  const line = at?.line ?? 1;
  if (!isObject(node)) {
    errors.push({ line, message: 'A label must be an object with a "name".' });
    return null;
  }
  let name = "";
  if (!("name" in node)) errors.push({ line, message: 'This label has no "name".' });
  else if (typeof node.name !== "string") errors.push({ line: keyLine(at, "name"), message: '"name" must be a string.' });
  else name = node.name.trim();
  let id = null;
  if (node.id !== undefined && node.id !== null) {
    if (typeof node.id === "string") id = node.id;
    else errors.push({ line: keyLine(at, "id"), message: '"id" must be a string.' });
  }
  const skipNameCheck = !("name" in node) || typeof node.name !== "string";
  return { name, id, line, nameLine: keyLine(at, "name"), idLine: keyLine(at, "id"), depth: 0, parent: -1, skipNameCheck,
    extra: extraFields(node, at, errors) };
}

// The fields beside id and name a label keeps.
const EXTRA_FIELDS = ["names", "aliases", "description", "color"];

/** A JSON label's names, aliases, description and color, with the shape problems a line can point at. */
function extraFields(node, at, errors) {
  const extra = {};
  for (const key of EXTRA_FIELDS) if (node[key] !== undefined && node[key] !== null) extra[key] = node[key];
  const { names, aliases } = extra;
  if (names !== undefined && !(isObject(names) && Object.values(names).every((v) => typeof v === "string"))) {
    errors.push({ line: keyLine(at, "names"), message: '"names" must be an object of names by language, such as {"en": "Sedan", "zh": "轿车"}.' });
  }
  if (aliases !== undefined && !(Array.isArray(aliases) && aliases.every((v) => typeof v === "string"))) {
    errors.push({ line: keyLine(at, "aliases"), message: '"aliases" must be a list of names.' });
  }
  return extra;
}

/** Check the entries, give every label a unique id, and build the tree. */
function build(entries, errors) {
  const used = new Set();
  const firstLine = new Map(); // explicit id -> line that first gave it
  const ids = new Array(entries.length).fill(null);
  let counted = false;
  entries.forEach((entry, index) => {
    if (!entry.skipNameCheck) {
      const problem = nameProblem(entry.name);
      if (problem) errors.push({ line: entry.nameLine, message: problem });
    }
    if (entry.depth >= MAX_DEPTH) {
      errors.push({ line: entry.line, message: `Labels nest at most ${MAX_DEPTH} levels deep; this one would be level ${entry.depth + 1}.` });
    }
    if (index === MAX_LABELS && !counted) {
      counted = true;
      errors.push({ line: entry.line, message: `At most ${MAX_LABELS} labels are allowed; this is label ${MAX_LABELS + 1}.` });
    }
    if (entry.id === null) return;
    const problem = idProblem(entry.id);
    if (problem) {
      errors.push({ line: entry.idLine, message: problem });
    } else if (firstLine.has(entry.id)) {
      errors.push({ line: entry.idLine, message: `The id "${entry.id}" is used on lines ${firstLine.get(entry.id)} and ${entry.idLine}; ids must be unique.` });
    } else {
      firstLine.set(entry.id, entry.idLine);
      used.add(entry.id);
      ids[index] = entry.id;
    }
  });

  // Generated ids avoid every explicit id, wherever it appears; clashes count up per base.
  const nextSuffix = new Map();
  const labels = [];
  const nodes = [];
  entries.forEach((entry, index) => {
    let id = ids[index];
    if (id === null) {
      const base = slugId(entry.name);
      id = base;
      let n = nextSuffix.get(base) ?? 2;
      while (used.has(id)) {
        const suffix = `_${n++}`;
        id = base.slice(0, MAX_ID_LENGTH - suffix.length) + suffix;
      }
      nextSuffix.set(base, n);
      used.add(id);
    }
    const node = { id, name: entry.name, ...entry.extra };
    nodes.push(node);
    if (entry.parent < 0) labels.push(node);
    else (nodes[entry.parent].children ??= []).push(node);
  });
  return labels;
}

function nameProblem(name) {
  if (!name) return "The label name is empty.";
  const length = [...name].length;
  if (length > MAX_NAME_LENGTH) return `The label name is ${length} characters long; at most ${MAX_NAME_LENGTH} are allowed.`;
  if (FORBIDDEN.test(name)) return "The label name contains a control or bidirectional-override character.";
  return null;
}

function idProblem(id) {
  if (!id) return "The id in [] is empty.";
  if (id.length > MAX_ID_LENGTH) return `The id "${id.slice(0, 20)}…" is ${id.length} characters long; at most ${MAX_ID_LENGTH} are allowed.`;
  if (!ID.test(id)) return `The id "${id}" may only use a-z, 0-9, "_", "-" and ".".`;
  return null;
}

/**
 * The id made from a label name (before clashes get "_2", "_3", ...): lowercase ASCII letters and digits
 * (accents dropped), every other run of characters "_", trimmed, at most 64 characters; a name without
 * any ASCII letter or digit (黄林莺) gets "l" and 8 hex digits of its 32-bit FNV-1a hash (UTF-8).
 * @param {string} name
 * @returns {string}
 */
export function slugId(name) {
  const ascii = String(name).normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  if (ascii) return ascii.slice(0, MAX_ID_LENGTH).replace(/_+$/, "");
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(String(name))) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `l${hash.toString(16).padStart(8, "0")}`;
}

/**
 * The taxonomy as an indented list: two spaces per level, "Name [id]" per line, so that
 * parseTaxonomy(toIndented(labels)).labels deep-equals labels (for valid labels with ids).
 * @param {Array<{id?: string, name: string, children?: object[]}>} labels
 * @returns {string}
 */
export function toIndented(labels) {
  const lines = [];
  const stack = [];
  const pushAll = (list, depth) => {
    for (let k = (list?.length ?? 0) - 1; k >= 0; k--) stack.push([list[k], depth]);
  };
  pushAll(labels, 0);
  while (stack.length) {
    const [node, depth] = stack.pop();
    const name = String(node.name ?? "").trim();
    // A name that itself starts like a bullet keeps it behind a real bullet.
    const bullet = /^[-*](\s|$)/.test(name) ? "- " : "";
    lines.push(`${"  ".repeat(depth)}${bullet}${name}${node.id ? ` [${node.id}]` : ""}`);
    if (Array.isArray(node.children)) pushAll(node.children, depth + 1);
  }
  return lines.join("\n");
}

/**
 * The taxonomy as text to edit: an indented list (toIndented), or pretty JSON where a label has names by
 * language, aliases, a description or a color, which a list cannot hold (so saving the form keeps them).
 * @param {Array<object>} labels
 * @returns {string}
 */
export function toText(labels) {
  const stack = Array.isArray(labels) ? [...labels] : [];
  while (stack.length) {
    const node = stack.pop();
    if (EXTRA_FIELDS.some((key) => node?.[key] !== undefined && node?.[key] !== null)) return JSON.stringify(labels, null, 2);
    if (Array.isArray(node?.children)) stack.push(...node.children);
  }
  return toIndented(labels);
}

/** How many labels the tree holds, at every level. */
export function countLabels(labels) {
  let count = 0;
  const stack = Array.isArray(labels) ? [...labels] : [];
  while (stack.length) {
    const node = stack.pop();
    count++;
    if (Array.isArray(node?.children)) stack.push(...node.children);
  }
  return count;
}

/** Levels in the tree: 0 when empty, 1 when flat. */
export function maxDepth(labels) {
  let deepest = 0;
  const stack = (Array.isArray(labels) ? labels : []).map((node) => [node, 1]);
  while (stack.length) {
    const [node, depth] = stack.pop();
    deepest = Math.max(deepest, depth);
    if (Array.isArray(node?.children)) for (const child of node.children) stack.push([child, depth + 1]);
  }
  return deepest;
}

// ---------------------------------------------------------------------------------------------------------
// Lines in JSON: JSON.parse reads it; these only say where things are, to report problems by line.
// ---------------------------------------------------------------------------------------------------------

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The 1-based line of a position in the text. */
function lineAt(source, position) {
  let line = 1;
  for (let i = source.indexOf("\n"); i >= 0 && i < position; i = source.indexOf("\n", i + 1)) line++;
  return line;
}

/**
 * The line on which JSON.parse found the problem. V8 says "at position N" for most problems and nothing for
 * an unexpected token; then the problem is at the end of the shortest prefix that fails before its end.
 */
function jsonErrorLine(source, error) {
  const at = reportedPosition(error, source.length);
  if (at !== null) return lineAt(source, Math.min(at, source.trimEnd().length));
  let lo = 0; // longest prefix known to fail only at its end (a beginning of some valid JSON)
  let hi = source.length; // shortest prefix known to fail before its end
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (failsBeforeEnd(source.slice(0, mid))) hi = mid;
    else lo = mid;
  }
  return lineAt(source, hi - 1);
}

function failsBeforeEnd(prefix) {
  try {
    JSON.parse(prefix);
    return false;
  } catch (error) {
    const at = reportedPosition(error, prefix.length);
    return at === null || at < prefix.length;
  }
}

/** Where a JSON.parse error says it is: its position, the end for "Unexpected end", else null. */
function reportedPosition(error, length) {
  const found = /at position (\d+)/.exec(error.message);
  if (found) return Number(found[1]);
  return /unexpected end/i.test(error.message) ? length : null;
}

/** V8's words without the position and the quoted source, which the line number replaces. */
function jsonErrorText(error) {
  return error.message.replace(/ (?:in JSON )?at position \d+.*$/s, "").replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, "")
    .replace(/\.$/, "") || "it cannot be read";
}

/**
 * For text that JSON.parse accepted: the line each value starts on, as a tree beside the value. A value is
 * {line}, an array also has items (one per element), an object keys (a Map from key to value; the last of a
 * repeated key wins, as in JSON.parse). One pass with an explicit stack, so any nesting is fine.
 */
function valueLines(source) {
  let line = 1;
  let root = { line: 1 };
  let key = null; // the key read in the innermost object, waiting for its value
  const open = [];
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === NEWLINE) line++;
    if (c <= SPACE || c === COMMA || c === COLON) continue;
    if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      open.pop();
      continue;
    }
    const end = c === QUOTE ? stringEnd(source, i) : i;
    const parent = open[open.length - 1];
    if (parent?.keys && key === null) {
      key = source.slice(i + 1, end);
      if (key.includes("\\")) key = JSON.parse(`"${key}"`);
      i = end;
      continue;
    }
    const value = { line };
    if (!parent) root = value;
    else if (parent.items) parent.items.push(value);
    else {
      parent.keys.set(key, value);
      key = null;
    }
    if (c === OPEN_ARRAY) open.push(Object.assign(value, { items: [] }));
    else if (c === OPEN_OBJECT) open.push(Object.assign(value, { keys: new Map() }));
    else i = c === QUOTE ? end : scalarEnd(source, i);
  }
  return root;
}

const [NEWLINE, SPACE, COMMA, COLON, QUOTE, BACKSLASH] = [10, 32, 44, 58, 34, 92];
const [OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT] = [91, 93, 123, 125];

/** The index of the quote that closes the string starting at i. */
function stringEnd(source, i) {
  let j = source.indexOf('"', i + 1);
  for (;;) {
    let slashes = 0;
    while (source.charCodeAt(j - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return j;
    j = source.indexOf('"', j + 1);
  }
}

/** The index of the last character of the number, true, false or null starting at i. */
function scalarEnd(source, i) {
  let j = i + 1;
  for (; j < source.length; j++) {
    const c = source.charCodeAt(j);
    if (c <= SPACE || c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT) break;
  }
  return j - 1;
}

function keyLine(at, key) {
  return at?.keys?.get(key)?.line ?? at?.line ?? 1;
}
