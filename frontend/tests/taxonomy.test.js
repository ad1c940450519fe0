import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ancestors, buildIndex, labelName, labelTerms, matchedName, pushRecent, recentByKey, search,
} from "../static/js/annotate/taxonomy.js";

const LABELS = [
  { id: "bird", name: "鸟类", children: [
    { id: "warbler", name: "莺", children: [
      { id: "yellow_warbler", name: "黄林莺" },
      { id: "wood_warbler", name: "林莺" },
    ] },
    { id: "sparrow", name: "麻雀" },
  ] },
  { id: "animal", name: "Animal", children: [
    { id: "warbler_en", name: "Warbler", children: [
      { id: "yellow_warbler_en", name: "Yellow Warbler" },
      { id: "reed-warbler", name: "Reed-warbler" },
    ] },
    { id: "swallow", name: "Barn swallow" },
    { id: "ostrich", name: "Ostrich" },
  ] },
  { id: "other", name: "Other" },
];
const index = buildIndex(LABELS);
const ids = (entries) => entries.map((e) => e.id);

test("buildIndex lists labels depth-first with parent, depth, path and order", () => {
  const e = index.byId.get("yellow_warbler");
  assert.equal(e.parent, "warbler");
  assert.equal(e.depth, 2);
  assert.deepEqual(e.path, ["鸟类", "莺", "黄林莺"]);
  assert.equal(e.pathText, "鸟类 › 莺 › 黄林莺");
  assert.equal(index.entries[e.order], e);
  assert.deepEqual(ids(index.entries).slice(0, 5), ["bird", "warbler", "yellow_warbler", "wood_warbler", "sparrow"]);
  assert.equal(index.byId.get("bird").parent, null);
  assert.equal(index.entries.length, 12);
});

test("buildIndex rejects an id used twice", () => {
  assert.throws(() => buildIndex([{ id: "a", name: "A", children: [{ id: "a", name: "A again" }] }]), /more than once/);
});

test("an exact Chinese name comes before names containing it, then in tree order", () => {
  assert.deepEqual(ids(search(index, "莺")), ["warbler", "yellow_warbler", "wood_warbler"]);
  assert.deepEqual(ids(search(index, "林莺")), ["wood_warbler", "yellow_warbler"]);
});

test("a Chinese name prefix comes before a name containing the query deeper down", () => {
  const idx = buildIndex([{ id: "a", name: "大黄鸟", children: [{ id: "b", name: "黄鹂" }] }, { id: "c", name: "黄雀" }]);
  assert.deepEqual(ids(search(idx, "黄")), ["c", "b", "a"]);
});

test("typing a parent's name finds its children through the path after the exact match", () => {
  assert.deepEqual(ids(search(index, "鸟类")), ["bird", "warbler", "sparrow", "yellow_warbler", "wood_warbler"]);
});

test("English ranks go name prefix, id prefix, name word prefix, then id substring", () => {
  // Warbler: name prefix; id "warbler" (name 莺): id prefix; Yellow Warbler and Reed-warbler: a word
  // starts with it; the Chinese yellow and wood warblers: id substring.
  assert.deepEqual(ids(search(index, "war")),
    ["warbler_en", "warbler", "yellow_warbler_en", "reed-warbler", "yellow_warbler", "wood_warbler"]);
});

test("an id prefix ranks after a name prefix and before a name word", () => {
  const idx = buildIndex([
    { id: "x1", name: "Yellow tit" },
    { id: "yellow_bird", name: "Canary" },
    { id: "x2", name: "Yellowish" },
  ]);
  assert.deepEqual(ids(search(idx, "yellow")), ["x1", "x2", "yellow_bird"]);
  const idx2 = buildIndex([
    { id: "x1", name: "Big Yellow" },
    { id: "yellow_bird", name: "Canary" },
    { id: "x3", name: "Mellowyellow" },
  ]);
  assert.deepEqual(ids(search(idx2, "yellow")), ["yellow_bird", "x1", "x3"]);
});

test("an exact id match ranks first", () => {
  assert.deepEqual(ids(search(index, "swallow")).slice(0, 1), ["swallow"]);
  assert.equal(search(index, "ostrich")[0].id, "ostrich");
});

test("matching ignores case, surrounding spaces and full-width forms (NFKC)", () => {
  assert.deepEqual(ids(search(index, "  WARBLER ")), ids(search(index, "warbler")));
  assert.deepEqual(ids(search(index, "ＷＡＲ")), ids(search(index, "war")));
  assert.ok(ids(search(index, "ＷＡＲ")).includes("warbler"));
});

test("several words must all match somewhere in name, id or path", () => {
  assert.deepEqual(ids(search(index, "animal yellow")), ["yellow_warbler_en"]);
  assert.deepEqual(ids(search(index, "鸟类 林莺")), ["wood_warbler", "yellow_warbler"]);
  assert.deepEqual(search(index, "鸟类 swallow"), []);
});

test("the whole phrase matching outranks words matching separately", () => {
  assert.deepEqual(ids(search(index, "yellow warbler")), ["yellow_warbler_en", "yellow_warbler"]);
  const idx = buildIndex([{ id: "yw", name: "Warbler yellow" }, { id: "p", name: "Big yellow warbler" }]);
  assert.deepEqual(ids(search(idx, "yellow warbler")), ["p", "yw"]);
});

test("words matching separately rank by how well each word matches", () => {
  // Yellow Warbler: name prefix + name word; yellow_warbler (黄林莺): id prefix + id substring.
  assert.deepEqual(ids(search(index, "warbler yellow")), ["yellow_warbler_en", "yellow_warbler"]);
});

test("the limit caps the results and keeps the best ranked", () => {
  assert.deepEqual(ids(search(index, "war", 2)), ["warbler_en", "warbler"]);
  assert.equal(search(index, "a", 3).length, 3);
  assert.deepEqual(ids(search(index, "鸟类", 1)), ["bird"]);
  assert.deepEqual(search(index, "war", 0), []);
});

test("an empty query gives the top-level labels in tree order, up to the limit", () => {
  assert.deepEqual(ids(search(index, "")), ["bird", "animal", "other"]);
  assert.deepEqual(ids(search(index, "   ")), ["bird", "animal", "other"]);
  assert.deepEqual(ids(search(index, "", 2)), ["bird", "animal"]);
});

test("a query matching nothing gives no results", () => {
  assert.deepEqual(search(index, "zebra"), []);
});

test("ancestors run from the top down to the parent", () => {
  assert.deepEqual(ids(ancestors(index, "yellow_warbler")), ["bird", "warbler"]);
  assert.deepEqual(ancestors(index, "bird"), []);
  assert.deepEqual(ancestors(index, "nope"), []);
});

test("pushRecent moves the label to the front without duplicates and keeps at most max", () => {
  assert.deepEqual(pushRecent([], "a"), ["a"]);
  assert.deepEqual(pushRecent(["a", "b", "c"], "c"), ["c", "a", "b"]);
  assert.deepEqual(pushRecent(["a", "b", "c"], "d", 3), ["d", "a", "b"]);
  const long = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
  assert.equal(pushRecent(long, "x").length, 9);
  const before = ["a", "b"];
  pushRecent(before, "b");
  assert.deepEqual(before, ["a", "b"]);
});

test("recentByKey maps number keys 1..9 to the recent labels, else null", () => {
  const recent = ["a", "b", "c"];
  assert.equal(recentByKey(recent, "1"), "a");
  assert.equal(recentByKey(recent, "3"), "c");
  assert.equal(recentByKey(recent, "4"), null);
  assert.equal(recentByKey(recent, "0"), null);
  assert.equal(recentByKey(recent, "x"), null);
});

// A generated taxonomy: 20 top-level labels, 50 children each, 20 grandchildren each (21,020 labels).
// Every third leaf gets a Chinese name and aliases (a scientific-style name and a code) when multilingual.
function generateTaxonomy(multilingual = false) {
  const syllables = ["ka", "lo", "mi", "ner", "sa", "to", "vu", "rel", "bin", "dor", "fa", "gem", "hu", "jo"];
  const han = ["鸟", "莺", "雀", "鹰", "鸭", "鹤", "燕", "鸽", "鹭", "雁"];
  const word = (n) => syllables[n % 14] + syllables[Math.floor(n / 14) % 14] + syllables[Math.floor(n / 196) % 14];
  const labels = [];
  let n = 0;
  for (let a = 0; a < 20; a++) {
    const top = { id: `t${a}_${word(n)}`, name: `${han[a % 10]}类 ${word(n++)}`, children: [] };
    for (let b = 0; b < 50; b++) {
      const mid = { id: `m${a}_${b}_${word(n)}`, name: `${word(n++)} ${han[b % 10]}`, children: [] };
      for (let c = 0; c < 20; c++) {
        const leaf = { id: `l${a}_${b}_${c}`, name: `${han[c % 10]}${word(n)} ${word(n * 7 + 3)}-${c}` };
        if (multilingual && c % 3 === 0) {
          leaf.names = { zh: `${han[(c + 3) % 10]}${word(n + 5)}`, en: `${word(n + 2)} ${word(n * 3 + 1)}` };
          leaf.aliases = [`${word(n * 5 + 1)} ${word(n + 11)}`, `code-${a}-${b}-${c}`];
        }
        mid.children.push(leaf);
        n++;
      }
      top.children.push(mid);
    }
    labels.push(top);
  }
  return labels;
}

// The ranking spelled out the slow way (score every label, sort), to check the fast search against.
// With names by language and aliases: the shown name is names[lang] or names[base language] (the tests'
// taxonomies have no other tags), else name; every other name and alias matches as a name would, except
// that only the shown name ranks as a name prefix (another name's start is a word prefix).
function referenceSearch(labels, lang = "en") {
  const norm = (text) => String(text).normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  const shown = (node) => node.names?.[lang] ?? node.names?.[lang.split("-")[0]] ?? node.name;
  const all = [];
  const walk = (nodes, trail) => {
    for (const node of nodes || []) {
      const path = [...trail, shown(node)];
      const name = norm(shown(node));
      const others = [node.name, ...Object.values(node.names || {}), ...(node.aliases || [])].map(norm).filter((x) => x !== name);
      all.push({ id: node.id, depth: trail.length, order: all.length, name, idKey: norm(node.id), others,
        path: norm(path.join(" › ")), words: [name, ...others].flatMap((x) => x.split(/[\s_-]+/)).filter(Boolean) });
      walk(node.children, path);
    }
  };
  walk(labels, []);
  const rank = (e, w) => {
    if (e.name === w || e.idKey === w || e.others.includes(w)) return 0;
    if (e.name.startsWith(w)) return 1;
    if (e.idKey.startsWith(w)) return 2;
    if (e.words.some((x) => x.startsWith(w))) return 3;
    if (e.name.includes(w) || e.others.some((x) => x.includes(w))) return 4;
    if (e.idKey.includes(w)) return 5;
    if (e.path.includes(w)) return 6;
    return 7;
  };
  return (query, limit = 50) => {
    const q = norm(query);
    if (!q) return all.filter((e) => e.depth === 0).slice(0, limit).map((e) => e.id);
    const words = q.split(" ");
    const scored = [];
    for (const e of all) {
      if (!words.every((w) => rank(e, w) < 7)) continue;
      let r = rank(e, q);
      if (r === 7) r = 7 + Math.min(...words.map((w) => rank(e, w)));
      scored.push({ r, e });
    }
    scored.sort((a, b) => a.r - b.r || a.e.depth - b.e.depth || a.e.order - b.e.order);
    return scored.slice(0, limit).map((x) => x.e.id);
  };
}

test("search ranks exactly like scoring and sorting every label, on small and generated taxonomies", () => {
  const small = referenceSearch(LABELS);
  for (const q of ["", "莺", "林莺", "鸟类", "war", "WARBLER", "ＷＡＲ", "yellow warbler", "warbler yellow", "animal yellow",
    "鸟类 林莺", "a", "r", "o", "_", "-", "bird", "e w", "zebra"]) {
    for (const limit of [50, 3]) assert.deepEqual(ids(search(index, q, limit)), small(q, limit), `query "${q}" limit ${limit}`);
  }
  const labels = generateTaxonomy();
  const big = buildIndex(labels);
  const slow = referenceSearch(labels);
  // Single words, rare and frequent; several words, rare and frequent, co-occurring or not.
  for (const q of ["k", "ka", "kar", "kare", "karel", "鸟", "鸟类", "莺", "rel", "l1", "l1_2", "m19_", "t3", "-1", "-19",
    "zzz", "ka mi", "lo k", "karel a", "a karel", "鸟 lo", "鸟类 雀类", "l1_ l2_", "m1_ 雀", "ka ka", "sa to vu", "zz a"]) {
    for (const limit of [50, 7]) assert.deepEqual(ids(search(big, q, limit)), slow(q, limit), `query "${q}" limit ${limit}`);
  }
});

test("with names by language and aliases, search ranks like the reference in either language", () => {
  const labels = generateTaxonomy(true);
  for (const lang of ["en", "zh-CN"]) {
    const big = buildIndex(labels, lang);
    const slow = referenceSearch(labels, lang);
    for (const q of ["k", "ka", "kar", "karel", "鸟", "莺ka", "code", "code-1", "code-1-2-3", "rel", "l1_2", "ka mi",
      "lo k", "鸟 lo", "code-3 ka", "zzz", "鸟类 雀类", "sa to vu"]) {
      for (const limit of [50, 7]) {
        assert.deepEqual(ids(search(big, q, limit)), slow(q, limit), `${lang}: query "${q}" limit ${limit}`);
      }
    }
  }
});

test("search over 20,000 labels answers keystrokes quickly (timings printed, not asserted)", () => {
  const labels = generateTaxonomy();
  let t = performance.now();
  const big = buildIndex(labels);
  const buildMs = performance.now() - t;
  assert.ok(big.entries.length >= 20000);
  const time = (queries) => {
    let total = 0, worst = 0, worstQuery = "";
    for (const q of queries) {
      t = performance.now();
      const results = search(big, q);
      const ms = performance.now() - t;
      assert.ok(results.length <= 50);
      total += ms;
      if (ms > worst) { worst = ms; worstQuery = q; }
    }
    return `${queries.length} searches mean ${(total / queries.length).toFixed(3)} ms, worst ${worst.toFixed(3)} ms ("${worstQuery}")`;
  };
  // Words typed one key at a time: every 1-4 character prefix.
  const words = ["karel", "minso", "莺类", "dorfa", "gemhu", "雀ka", "torel", "binlo", "鹰", "jo", "sav", "nerka",
    "vu", "fagem", "hujo", "relbi", "鸭mi", "m1_2", "ostr", "zzz", "t1_", "l3_4", "鸽mi", "hufa", "sane",
    "kami", "lovu", "dobi", "gesa", "fato", "rema", "mika", "saka", "tojo", "vufa", "jolo", "bire", "neto",
    "ner", "鹭sa", "-12", "l19_", "gemk", "tovu", "hubi", "jofa", "kado", "vuge", "鸭", "mo", "rebi", "sami",
    "fanu", "tolo", "dore", "kajo", "l7_", "gefa"];
  const typed = [];
  for (const w of words) {
    const chars = [...w].slice(0, 4);
    for (let i = 1; i <= chars.length; i++) typed.push(chars.slice(0, i).join(""));
  }
  const queries = typed.slice(0, 200);
  for (const q of queries.slice(0, 20)) search(big, q); // warm up the JIT
  console.log(`taxonomy of ${big.entries.length} labels: buildIndex ${buildMs.toFixed(1)} ms; ${time(queries)}`);
  // Two words, both frequent, is the slowest kind of query (every entry is a candidate).
  console.log(`  two-word queries: ${time(["ka m", "ka mi", "lo k", "lo ka", "鸟 lo", "鸟类 ka", "sa t", "sa to", "bin d", "ka mi"])}`);
});

// ---------------------------------------------------------------------------------------------------------
// Names by language and aliases
// ---------------------------------------------------------------------------------------------------------

const SEDAN = { id: "sedan", name: "Sedan", names: { zh: "轿车", "zh-Hant": "轎車", "pt-BR": "Sedã" },
  aliases: ["saloon", "Berline"] };
const CARS = [{ id: "car", name: "Car", names: { zh: "汽车" }, children: [
  SEDAN,
  { id: "suv", name: "SUV", names: { zh: "越野车" }, aliases: ["sport utility vehicle"] },
  { id: "saloon_door", name: "Saloon door" },
] }, { id: "truck", name: "Truck" }];

test("labelName shows the reader's language, then the base language, then another tag of it, then name", () => {
  assert.equal(labelName(SEDAN, "zh-CN"), "轿车"); // no zh-CN: the base language zh
  assert.equal(labelName(SEDAN, "zh"), "轿车");
  assert.equal(labelName(SEDAN, "zh-Hant"), "轎車");
  assert.equal(labelName(SEDAN, "ZH-HANT"), "轎車"); // tags compare case-insensitively
  assert.equal(labelName(SEDAN, "pt"), "Sedã"); // another tag of the reader's language
  assert.equal(labelName(SEDAN, "en"), "Sedan"); // no English name: name
  assert.equal(labelName({ ...SEDAN, names: { en: "Saloon car", zh: "轿车" } }, "en"), "Saloon car");
  assert.equal(labelName({ id: "x", name: "X", names: { zh: " " } }, "zh-CN"), "X"); // a blank name is no name
  assert.equal(labelName({ id: "x" }, "en"), "x");
  assert.equal(labelName(SEDAN), "Sedan"); // the UI language by default, English until set
});

test("labelTerms lists name, every language's name and every alias once", () => {
  assert.deepEqual(labelTerms(SEDAN), ["Sedan", "轿车", "轎車", "Sedã", "saloon", "Berline"]);
  assert.deepEqual(labelTerms({ id: "x", name: "X", names: { en: "X" }, aliases: ["X"] }), ["X"]);
  assert.deepEqual(labelTerms({ id: "x", name: "X", names: null, aliases: "not a list" }), ["X"]);
});

test("the index shows names in the reader's language, with paths of them", () => {
  const zh = buildIndex(CARS, "zh-CN");
  assert.equal(zh.byId.get("sedan").name, "轿车");
  assert.equal(zh.byId.get("sedan").pathText, "汽车 › 轿车");
  assert.equal(zh.byId.get("saloon_door").pathText, "汽车 › Saloon door");
  const en = buildIndex(CARS, "en");
  assert.equal(en.byId.get("sedan").pathText, "Car › Sedan");
});

test("searching a Chinese name finds the label on an English taxonomy, and an English name in the Chinese UI", () => {
  const en = buildIndex(CARS, "en");
  assert.deepEqual(ids(search(en, "轿车")), ["sedan"]);
  assert.deepEqual(ids(search(en, "轿")), ["sedan"]); // a prefix of another language's name
  assert.deepEqual(ids(search(en, "车")), ["car", "sedan", "suv"]); // inside other names: shallower first
  assert.deepEqual(ids(search(en, "轎車")), ["sedan"]);
  const zh = buildIndex(CARS, "zh-CN");
  assert.deepEqual(ids(search(zh, "sedan")), ["sedan"]);
  assert.deepEqual(ids(search(zh, "SEDAN")), ["sedan"]); // case-insensitive
  assert.deepEqual(ids(search(zh, "Sedã")), ["sedan"]);
});

test("aliases and ids are found too, case-insensitively, an exact alias before a name starting with it", () => {
  const en = buildIndex(CARS, "en");
  assert.deepEqual(ids(search(en, "Saloon")), ["sedan", "saloon_door"]); // exact alias, then a name prefix
  assert.deepEqual(ids(search(en, "berl")), ["sedan"]);
  assert.deepEqual(ids(search(en, "utility")), ["suv"]); // a word of an alias
  assert.deepEqual(ids(search(en, "sport utility vehicle")), ["suv"]);
  assert.deepEqual(ids(search(en, "suv")), ["suv"]);
  assert.deepEqual(ids(search(en, "sed")), ["sedan"]);
  assert.deepEqual(ids(search(en, "越野")), ["suv"]);
});

test("matchedName says which other name a result was found by, and nothing when the shown name or id did", () => {
  const en = buildIndex(CARS, "en");
  const sedan = en.byId.get("sedan");
  assert.deepEqual(sedan.others, ["轿车", "轎車", "Sedã", "saloon", "Berline"]); // as written
  assert.equal(matchedName(sedan, "SALOON"), "saloon");
  assert.equal(matchedName(sedan, "轿"), "轿车");
  assert.equal(matchedName(sedan, "berl"), "Berline");
  assert.equal(matchedName(sedan, "car berl"), "Berline"); // "car" is in the path, "berl" is not
  assert.equal(matchedName(sedan, "sed"), null); // the shown name
  assert.equal(matchedName(sedan, ""), null);
  assert.equal(matchedName(en.byId.get("truck"), "truck"), null); // no other names
  const zh = buildIndex(CARS, "zh-CN");
  assert.deepEqual(zh.byId.get("sedan").others, ["Sedan", "轎車", "Sedã", "saloon", "Berline"]);
  assert.equal(matchedName(zh.byId.get("sedan"), "seda"), "Sedan"); // a nested label's id is not shown
  assert.equal(matchedName(zh.byId.get("car"), "car"), null); // a top-level label's id is
  assert.equal(matchedName(zh.byId.get("sedan"), "汽车"), null); // the path
});
