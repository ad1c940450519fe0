// Label picker over deep taxonomies: a flat index, ranked search, ancestors and recently used labels.
// DOM-free so node can test it.
import { locale } from "../lib/i18n.js";

/** Separator between the names of a label's path ("鸟类 › 莺 › 黄林莺"). */
export const PATH_SEPARATOR = " › ";

// Ranks of a single query word, best first (see rankWord).
const EXACT = 0, NAME_PREFIX = 1, ID_PREFIX = 2, WORD_PREFIX = 3, NAME_SUB = 4, ID_SUB = 5, PATH_SUB = 6;
const NO_MATCH = 7;

const NEEDS_SPACE_CLEANUP = /[^\S ]| {2}|^ | $|[\u0000\u0001]/;

/**
 * The form text is compared in: NFKC-normalised (full-width letters become ASCII), lower-cased,
 * trimmed, with runs of whitespace collapsed to one space (and the index's separators \0 and \1 removed).
 * @param {unknown} text
 * @returns {string}
 */
export function normalizeText(text) {
  const s = String(text ?? "").normalize("NFKC").toLowerCase();
  return NEEDS_SPACE_CLEANUP.test(s) ? s.replace(/[\u0000\u0001]/g, "").replace(/\s+/g, " ").trim() : s;
}

// Separates entries in the index's search texts; never in normalised text.
const SEP = "\u0000";

// One search text over all entries in scan order, "\0seg0\0seg1\0...\0", and starts[i], the offset of
// segment i's leading \0, so that a match maps back to its entry.
function searchText(segments) {
  const starts = new Int32Array(segments.length + 1);
  let at = 0;
  for (let i = 0; i < segments.length; i++) {
    starts[i] = at;
    at += segments[i].length + 1;
  }
  starts[segments.length] = at;
  return { text: SEP + segments.join(SEP) + SEP, starts };
}

// For prefix lookups without sorting: the scan positions of the entries with a key starting with
// each first character and each first two characters (UTF-16 units), in scan order.
function prefixLists(scanOrder, keysOf) {
  const one = new Map();
  const two = new Map();
  const put = (map, head, i) => {
    const list = map.get(head);
    if (!list) map.set(head, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  };
  scanOrder.forEach((entry, i) => {
    for (const key of keysOf(entry.keys)) {
      if (key.length >= 1) put(one, key.slice(0, 1), i);
      if (key.length >= 2) put(two, key.slice(0, 2), i);
    }
  });
  return { one, two };
}

/**
 * A label's name for a reader of `lang` (a UI locale such as "en" or "zh-CN"): its `names[lang]`, else the
 * name of the base language ("zh" for "zh-CN"), else of another tag of that language ("zh-Hant"), else
 * `name` (else the id). Tags compare case-insensitively.
 * @param {{id?: string, name?: string, names?: Object<string, string>}} node
 * @param {string} [lang] the UI language by default
 * @returns {string}
 */
export function labelName(node, lang = locale()) {
  const names = node && node.names;
  if (names && typeof names === "object" && typeof lang === "string" && lang) {
    const wanted = lang.toLowerCase();
    const base = wanted.split("-")[0];
    let same = null, related = null;
    for (const [tag, value] of Object.entries(names)) {
      if (typeof value !== "string" || !value.trim()) continue;
      const key = tag.toLowerCase();
      if (key === wanted) return value;
      if (key === base) same ??= value;
      else if (key.split("-")[0] === base) related ??= value;
    }
    if (same !== null || related !== null) return same ?? related;
  }
  return String(node?.name ?? node?.id ?? "");
}

/**
 * Every name a label goes by, each once, for search: `name`, its names in every language and its aliases.
 * @param {{name?: string, names?: Object<string, string>, aliases?: string[]}} node
 * @returns {string[]}
 */
export function labelTerms(node) {
  const terms = [node?.name, ...Object.values(node?.names && typeof node.names === "object" ? node.names : {}),
    ...(Array.isArray(node?.aliases) ? node.aliases : [])];
  return [...new Set(terms.filter((term) => typeof term === "string" && term.trim()))];
}

// Split into the words a prefix may start (spaces, "_" and "-").
const wordsOf = (key) => (/[\s_-]/.test(key) ? key.split(/[\s_-]+/).filter(Boolean) : [key]);

/**
 * Flattens a label tree into a search index.
 * Entries come in depth-first order, each `{id, name, others, parent, depth, path, pathText, order, keys}`,
 * where `name` (and so the path) is the label's name for a reader of `lang` (see labelName), `others` its
 * other names as written (`name` where another is shown, names in other languages, aliases) and `keys`
 * holds the precomputed normalised search keys: `name`, `id`, `path`, `alts` (the label's other names:
 * `name` where another is shown, names in other languages, aliases), `names` = name \1 alts, `words` of
 * them all, and `all` = names \1 id \1 path. The index also holds `levels[d]` (the entries of depth d in
 * tree order) and, for search only, `scanOrder` (entries shallowest first, then in tree order), maps of
 * exact names and ids, lists by first characters for prefixes and search texts for substrings.
 * Treat it as read-only.
 * @param {Array<{id: string, name?: string, names?: object, aliases?: string[], children?: Array}>} labels
 * @param {string} [lang] the reader's language; the UI language by default
 * @returns {{entries: object[], byId: Map<string, object>, levels: object[][]}}
 * @throws {Error} when an id appears twice in the tree
 */
export function buildIndex(labels, lang = locale()) {
  const entries = [];
  const byId = new Map();
  const levels = [];
  const walk = (nodes, parent) => {
    for (const node of nodes || []) {
      const id = String(node.id);
      if (byId.has(id)) throw new Error(`Label id "${id}" appears more than once in the taxonomy.`);
      const name = labelName(node, lang);
      const depth = parent ? parent.depth + 1 : 0;
      const nameKey = normalizeText(name);
      const idKey = normalizeText(id);
      const pathKey = parent ? parent.keys.path + PATH_SEPARATOR + nameKey : nameKey;
      const others = new Map(); // normalised other name -> as written (the first that normalises so)
      if (node.names || node.aliases) {
        for (const term of labelTerms(node)) {
          const key = normalizeText(term);
          if (key && key !== nameKey && !others.has(key)) others.set(key, term.trim());
        }
      }
      const alts = [...others.keys()];
      const namesKey = alts.length ? nameKey + "\u0001" + alts.join("\u0001") : nameKey;
      const entry = {
        id, name, others: [...others.values()], parent: parent ? parent.id : null, depth,
        path: parent ? [...parent.path, name] : [name],
        pathText: parent ? parent.pathText + PATH_SEPARATOR + name : name,
        order: entries.length,
        keys: {
          name: nameKey,
          id: idKey,
          path: pathKey,
          alts,
          names: namesKey,
          words: alts.length ? [...new Set([nameKey, ...alts].flatMap(wordsOf))] : wordsOf(nameKey),
          all: namesKey + "\u0001" + idKey + "\u0001" + pathKey,
        },
      };
      entries.push(entry);
      byId.set(id, entry);
      (levels[depth] ??= []).push(entry);
      walk(node.children, entry);
    }
  };
  walk(labels, null);

  const scanOrder = levels.flat();
  const exactNames = new Map();
  const exactIds = new Map();
  scanOrder.forEach((entry, i) => {
    for (const key of [entry.keys.name, ...entry.keys.alts]) {
      const same = exactNames.get(key);
      if (same) same.push(i); else exactNames.set(key, [i]);
    }
    if (!exactIds.has(entry.keys.id)) exactIds.set(entry.keys.id, i);
  });
  return {
    entries, byId, levels, scanOrder, exactNames, exactIds,
    prefixes: {
      name: prefixLists(scanOrder, (keys) => [keys.name]),
      id: prefixLists(scanOrder, (keys) => [keys.id]),
      words: prefixLists(scanOrder, (keys) => keys.words),
    },
    texts: {
      name: searchText(scanOrder.map((e) => e.keys.names)),
      id: searchText(scanOrder.map((e) => e.keys.id)),
      path: searchText(scanOrder.map((e) => e.keys.path)),
      all: searchText(scanOrder.map((e) => e.keys.all)),
    },
  };
}

// The entry (scan position) whose segment holds character `pos`, searching forward from entry `from`
// (matches come in increasing order, so gallop then bisect).
function entryAt(starts, pos, from) {
  const last = starts.length - 2;
  let lo = from, step = 1;
  while (lo + step <= last && starts[lo + step] <= pos) {
    lo += step;
    step *= 2;
  }
  let hi = Math.min(lo + step, last + 1) - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// How well one normalised query word matches an entry's keys: 0 (exact) .. 6 (path substring), 7 none.
// The label's other names (keys.alts) count as names, except that only the shown name ranks as a name
// prefix: another name's start is a word prefix.
function rankWord(keys, word) {
  if (keys.name === word || keys.id === word || keys.alts.includes(word)) return EXACT;
  if (keys.name.startsWith(word)) return NAME_PREFIX;
  if (keys.id.startsWith(word)) return ID_PREFIX;
  for (const w of keys.words) if (w.startsWith(word)) return WORD_PREFIX;
  if (keys.names.includes(word)) return NAME_SUB;
  if (keys.id.includes(word)) return ID_SUB;
  if (keys.path.includes(word)) return PATH_SUB;
  return NO_MATCH;
}

// Scan positions (ascending, at most `max`) of the entries where `word` has rank `rank`, or a better
// one, that pass `accept`. Each rank comes out of one lookup already in scan order: exact maps,
// per-first-characters lists for prefixes, indexOf over one text of all entries for substrings.
function stage(index, word, rank, max, accept) {
  const out = [];
  const { prefixes, texts } = index;
  if (rank === EXACT) {
    const found = [...(index.exactNames.get(word) || [])];
    if (index.exactIds.has(word)) found.push(index.exactIds.get(word));
    found.sort((a, b) => a - b); // a handful at most
    for (const i of found) if (out.length < max && out[out.length - 1] !== i && accept(i)) out.push(i);
    return out;
  }
  if (rank <= WORD_PREFIX) {
    const lists = rank === NAME_PREFIX ? prefixes.name : rank === ID_PREFIX ? prefixes.id : prefixes.words;
    const list = (word.length >= 2 ? lists.two.get(word.slice(0, 2)) : lists.one.get(word)) || [];
    for (const i of list) {
      if (out.length >= max) break;
      if (word.length > 2) {
        const keys = index.scanOrder[i].keys;
        if (rank === NAME_PREFIX ? !keys.name.startsWith(word)
          : rank === ID_PREFIX ? !keys.id.startsWith(word)
            : !keys.words.some((w) => w.startsWith(word))) continue;
      }
      if (accept(i)) out.push(i);
    }
    return out;
  }
  const { text, starts } = rank === NAME_SUB ? texts.name : rank === ID_SUB ? texts.id : texts.path;
  let i = 0;
  for (let pos = text.indexOf(word); pos !== -1 && out.length < max; pos = text.indexOf(word, starts[i + 1])) {
    i = entryAt(starts, pos, i);
    if (accept(i)) out.push(i);
  }
  return out;
}

// Below this many occurrences of its rarest word, a several-word query ranks the entries holding that
// word one by one; above it, it goes rank by rank like a single word.
const RARE = 1000;

/**
 * Ranked labels for what has been typed so far.
 * Ranks: exact name (any of the label's names and aliases) or id, name prefix, id prefix, a word of any
 * name (split on spaces, _ and -) starting with the query, substring of any name, id substring, path
 * substring; ties shallower first, then in tree order.
 * Several space-separated words must all match (name, id or path): entries matching the whole phrase
 * come first (ranked as above), then the others by their best-matching word's rank. An empty query
 * gives the top-level labels.
 * Collects one rank at a time, each already in result order (exact maps, lists by first characters
 * for prefixes, indexOf over one text of all entries for substrings), and stops as soon as `limit`
 * entries are found; the whole list is never sorted.
 * @param {object} index from buildIndex
 * @param {string} query
 * @param {number} [limit=50]
 * @returns {object[]} index entries, best first
 */
export function search(index, query, limit = 50) {
  limit = Math.floor(limit);
  if (!(limit > 0)) return [];
  const phrase = normalizeText(query);
  if (!phrase) return (index.levels[0] || []).slice(0, limit);
  const { scanOrder, texts } = index;
  const words = phrase.split(" ");
  const result = [];

  if (words.length > 1) {
    // A rare word: rank the few entries holding it (and every other word) directly.
    const { text, starts } = texts.all;
    let driver = words[0];
    let fewest = Infinity;
    for (const w of [...words].sort((x, y) => y.length - x.length)) {
      let count = 0;
      for (let pos = text.indexOf(w); pos !== -1 && count < fewest && count < RARE; pos = text.indexOf(w, pos + 1)) count++;
      if (count < fewest) { fewest = count; driver = w; }
    }
    if (fewest < RARE) {
      const buckets = Array.from({ length: 2 * NO_MATCH }, () => []);
      let i = 0;
      candidates:
      for (let pos = text.indexOf(driver); pos !== -1; pos = text.indexOf(driver, starts[i + 1])) {
        i = entryAt(starts, pos, i);
        const keys = scanOrder[i].keys;
        for (const w of words) if (!keys.all.includes(w)) continue candidates;
        let rank = keys.all.includes(phrase) ? rankWord(keys, phrase) : NO_MATCH;
        if (rank === NO_MATCH) {
          let best = NO_MATCH;
          for (const w of words) best = Math.min(best, rankWord(keys, w));
          rank += best;
        }
        buckets[rank].push(scanOrder[i]);
        if (rank === EXACT && buckets[EXACT].length >= limit) break;
      }
      for (const bucket of buckets) {
        for (const entry of bucket) {
          if (result.length >= limit) return result;
          result.push(entry);
        }
      }
      return result;
    }
  }

  const taken = new Uint8Array(scanOrder.length); // entries already placed by a better rank
  const add = (list) => {
    for (const i of list) {
      if (result.length >= limit) break;
      if (!taken[i]) {
        taken[i] = 1;
        result.push(scanOrder[i]);
      }
    }
    return result.length >= limit;
  };
  const untaken = (i) => !taken[i];
  for (let rank = EXACT; rank < NO_MATCH; rank++) {
    if (add(stage(index, phrase, rank, limit - result.length, untaken))) return result;
  }
  if (words.length === 1) return result;
  // Every word somewhere, not as the phrase: by the best-matching word's rank. Stage by stage, the
  // entries where some word has that rank (better ones are already taken), merged in scan order.
  const holdsAll = (i) => {
    if (taken[i]) return false;
    const all = scanOrder[i].keys.all;
    for (const w of words) if (!all.includes(w)) return false;
    return true;
  };
  for (let rank = EXACT; rank < NO_MATCH; rank++) {
    const room = limit - result.length;
    const merged = words.flatMap((w) => stage(index, w, rank, room, holdsAll)).sort((a, b) => a - b);
    if (add(merged)) return result;
  }
  return result;
}

/**
 * Which of a search result's other names the query found it by, to show beside its name ("Truck" found by
 * "lorry"): the first other name holding the query (or one of its words) when what the picker shows (the
 * name and path, the id of a top-level label) does not; else null.
 * @param {object} entry an index entry
 * @param {string} query what was typed
 * @returns {string|null}
 */
export function matchedName(entry, query) {
  const phrase = normalizeText(query);
  const { keys } = entry;
  if (!phrase || !keys.alts.length) return null;
  const words = phrase.split(" ");
  // What the picker shows: the name, and the path or, at the top level, the id.
  const shown = (w) => keys.path.includes(w) || (entry.depth === 0 && keys.id.includes(w));
  if (shown(phrase) || words.every(shown)) return null;
  const at = keys.alts.findIndex((alt) => alt.includes(phrase));
  const found = at >= 0 ? at : keys.alts.findIndex((alt) => words.some((w) => !shown(w) && alt.includes(w)));
  return found >= 0 ? entry.others[found] : null;
}

/**
 * A label's ancestors from the top level down to its parent (the label itself excluded).
 * @param {{byId: Map<string, object>}} index
 * @param {string} id
 * @returns {object[]} [] for a top-level label or an unknown id
 */
export function ancestors(index, id) {
  const chain = [];
  let entry = index.byId.get(id);
  while (entry && entry.parent !== null) {
    entry = index.byId.get(entry.parent);
    if (entry) chain.push(entry);
  }
  return chain.reverse();
}

/**
 * A new most-recently-used list with `id` at the front, without duplicates, at most `max` long.
 * @param {string[]} recent
 * @param {string} id
 * @param {number} [max=9]
 * @returns {string[]}
 */
export function pushRecent(recent, id, max = 9) {
  return [id, ...(recent || []).filter((x) => x !== id)].slice(0, Math.max(0, max));
}

/**
 * The recent label for number key "1".."9" (1 is the most recent), or null.
 * @param {string[]} recent
 * @param {string|number} digit
 * @returns {string|null}
 */
export function recentByKey(recent, digit) {
  const text = String(digit);
  if (!/^[1-9]$/.test(text)) return null;
  return (recent || [])[Number(text) - 1] ?? null;
}
