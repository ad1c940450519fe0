import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_DEPTH, MAX_LABELS, countLabels, maxDepth, parseTaxonomy, slugId, toIndented, toText,
} from "../static/js/lib/taxonomy_text.js";

// FNV-1a of the UTF-8 names, worked out independently: l + 8 hex digits.
const BIRDS = [
  { id: "l64bb19d6", name: "鸟类", children: [
    { id: "lc27f1673", name: "莺", children: [{ id: "l558de1fc", name: "黄林莺" }] },
    { id: "lcb57413d", name: "麻雀" },
  ] },
];

const ok = (text) => {
  const { labels, errors } = parseTaxonomy(text);
  assert.deepEqual(errors, [], `no errors for ${JSON.stringify(text)}`);
  return labels;
};
const errorsOf = (text) => parseTaxonomy(text).errors;
const lines = (...rows) => rows.join("\n");

test("a 3-level Chinese taxonomy as an indented list becomes the tree with hashed ids", () => {
  assert.deepEqual(ok("鸟类\n  莺\n    黄林莺\n  麻雀"), BIRDS);
});

test("the same taxonomy as a JSON array or {labels: [...]} gives the same tree", () => {
  const json = JSON.stringify([{ name: "鸟类", children: [{ name: "莺", children: [{ name: "黄林莺" }] }, { name: "麻雀", children: [] }] }], null, 2);
  assert.deepEqual(ok(json), BIRDS);
  assert.deepEqual(ok(JSON.stringify({ tools: ["bbox"], labels: BIRDS })), BIRDS);
  assert.deepEqual(ok(`\uFEFF  ${JSON.stringify(BIRDS)}`), BIRDS);
});

test("JSON keeps given ids, trims names, keeps names by language, aliases, description and color, drops other fields", () => {
  assert.deepEqual(ok('[{"id": "bird", "name": " Bird ", "color": "#ff0000", "weight": 3, "children": [{"name": "Warbler", "id": null}]}]'),
    [{ id: "bird", name: "Bird", color: "#ff0000", children: [{ id: "warbler", name: "Warbler" }] }]);
  const sedan = { id: "sedan", name: "Sedan", names: { zh: "轿车", "zh-Hant": "轎車" }, aliases: ["saloon", "Berline"],
    description: "Four doors, a boot." };
  assert.deepEqual(ok(JSON.stringify([{ id: "car", name: "Car", children: [sedan] }])),
    [{ id: "car", name: "Car", children: [sedan] }]);
});

test("names must be an object of strings and aliases a list of strings, reported on their lines", () => {
  const text = '[\n{"id": "a", "name": "A",\n "names": ["轿车"]},\n{"id": "b", "name": "B",\n "aliases": "saloon"},\n{"id": "c", "name": "C", "names": {"zh": 1}}\n]';
  assert.deepEqual(errorsOf(text).map((e) => e.line), [3, 5, 6]);
  assert.match(errorsOf(text)[0].message, /"names" must be an object/);
  assert.match(errorsOf(text)[1].message, /"aliases" must be a list/);
});

test("toText gives an indented list, or JSON once a label has names, aliases, a description or a color", () => {
  assert.equal(toText(BIRDS), toIndented(BIRDS));
  const named = [{ id: "car", name: "Car", children: [{ id: "sedan", name: "Sedan", names: { zh: "轿车" }, aliases: ["saloon"] }] }];
  assert.equal(toText(named), JSON.stringify(named, null, 2));
  assert.deepEqual(ok(toText(named)), named); // what the settings form shows saves back unchanged
  assert.ok(toText([{ id: "a", name: "A", children: [{ id: "b", name: "B", color: "#00ff00" }] }]).startsWith("["));
  assert.equal(toText([]), "");
});

test("- and * bullets are ignored", () => {
  assert.deepEqual(ok("- 鸟类\n  * 莺\n    - 黄林莺\n  - 麻雀"), BIRDS);
  assert.deepEqual(ok("* -5 °C"), [{ id: "5_c", name: "-5 °C" }]);
  assert.deepEqual(ok("*starred"), [{ id: "starred", name: "*starred" }]);
});

test("a tab counts as four spaces of indentation", () => {
  assert.deepEqual(ok("鸟类\n\t莺\n\t\t黄林莺\n    麻雀"), BIRDS);
  assert.deepEqual(ok("鸟类\n  莺\n\t黄林莺\n  麻雀"), BIRDS);
});

test("blank lines, trailing spaces, Windows line ends and a common left margin are ignored", () => {
  assert.deepEqual(ok("\r\n   鸟类   \r\n\r\n     莺\r\n  \t \r\n       黄林莺\r\n     麻雀\r\n"), BIRDS);
});

test("empty input is no labels and no errors", () => {
  assert.deepEqual(parseTaxonomy(""), { labels: [], errors: [] });
  assert.deepEqual(parseTaxonomy(" \n\n"), { labels: [], errors: [] });
  assert.deepEqual(parseTaxonomy(undefined), { labels: [], errors: [] });
  assert.deepEqual(parseTaxonomy("[]"), { labels: [], errors: [] });
});

test("Name [id] gives an explicit id and only the last brackets are the id", () => {
  assert.deepEqual(ok(lines("鸟类 [bird]", "  莺 [ warbler ]", "    Warbler [juvenile] [warbler.juv-1]", "  [sic] name [x_1]")), [
    { id: "bird", name: "鸟类", children: [
      { id: "warbler", name: "莺", children: [{ id: "warbler.juv-1", name: "Warbler [juvenile]" }] },
      { id: "x_1", name: "[sic] name" },
    ] },
  ]);
});

test("generated ids are lowercase ASCII with other characters as one underscore", () => {
  assert.equal(slugId("Barn Swallow"), "barn_swallow");
  assert.equal(slugId("  Reed-Warbler (juv.)  "), "reed_warbler_juv");
  assert.equal(slugId("Café au lait"), "cafe_au_lait");
  assert.equal(slugId("ＡＢＣ１２"), "abc12");
  assert.equal(slugId("鸟 2"), "2");
  assert.equal(slugId("黄林莺"), "l558de1fc");
  assert.equal(slugId("黄林莺"), slugId("黄林莺"));
  assert.notEqual(slugId("林莺"), slugId("黄林莺"));
  assert.equal(slugId("x".repeat(100)), "x".repeat(64));
  assert.equal(slugId(`${"a".repeat(63)} b`), "a".repeat(63));
});

test("clashing generated ids get _2, _3 across the whole tree and avoid explicit ids", () => {
  const labels = ok(lines("Bird", "  bird", "  BIRD!", "Other", "  Bird [bird_2]", "  黄林莺", "  黄林莺"));
  assert.deepEqual(labels, [
    { id: "bird", name: "Bird", children: [{ id: "bird_3", name: "bird" }, { id: "bird_4", name: "BIRD!" }] },
    { id: "other", name: "Other", children: [
      { id: "bird_2", name: "Bird" }, { id: "l558de1fc", name: "黄林莺" }, { id: "l558de1fc_2", name: "黄林莺" },
    ] },
  ]);
});

test("a clash suffix on a 64-character id still fits in 64 characters", () => {
  const name = "n".repeat(80);
  const labels = ok(`${name}\n${name}`);
  assert.deepEqual(labels.map((l) => l.id), ["n".repeat(64), `${"n".repeat(62)}_2`]);
});

test("indenting more than one level below the line above is an error on that line", () => {
  assert.deepEqual(errorsOf(lines("鸟类", "  莺", "", "      黄林莺")), [
    { line: 4, message: "Indented 2 levels deeper than line 2; a child goes one level below its parent." },
  ]);
  const { labels } = parseTaxonomy(lines("a", "  b", "      c"));
  assert.deepEqual(labels, [{ id: "a", name: "a", children: [{ id: "b", name: "b", children: [{ id: "c", name: "c" }] }] }]);
});

test("indentation that is not a whole number of levels is an error on that line", () => {
  assert.deepEqual(errorsOf(lines("a", "    b", "      c")), [
    { line: 3, message: "Indented by 6 columns, which is not a multiple of the 4 used for one level." },
  ]);
});

test("a line indented less than the first label is an error", () => {
  assert.deepEqual(errorsOf(lines("  a", "    b", "c")), [{ line: 3, message: "Indented less than the first label (line 1)." }]);
});

test("an empty name is an error on its line", () => {
  assert.deepEqual(errorsOf(lines("a", "-", "  [only_id]", "*   ")), [
    { line: 2, message: "The label name is empty." },
    { line: 3, message: "The label name is empty." },
    { line: 4, message: "The label name is empty." },
  ]);
});

test("a name over 200 characters is an error, counting Chinese characters as one each", () => {
  assert.deepEqual(ok(`${"莺".repeat(200)}`).length, 1);
  assert.deepEqual(errorsOf(lines("a", `  ${"莺".repeat(201)}`)), [
    { line: 2, message: "The label name is 201 characters long; at most 200 are allowed." },
  ]);
});

test("control and bidi-override characters in a name are errors", () => {
  assert.deepEqual(errorsOf('[{"name": "a\\u0007b"}, {"name": "x\\u202Ey"}]'), [
    { line: 1, message: "The label name contains a control or bidirectional-override character." },
    { line: 1, message: "The label name contains a control or bidirectional-override character." },
  ]);
});

test("a malformed explicit id is an error on its line", () => {
  assert.deepEqual(errorsOf(lines("a [Bird]", "b [has space]", "c []", `d [${"x".repeat(65)}]`, "e [ok-1.x_2]")), [
    { line: 1, message: 'The id "Bird" may only use a-z, 0-9, "_", "-" and ".".' },
    { line: 2, message: 'The id "has space" may only use a-z, 0-9, "_", "-" and ".".' },
    { line: 3, message: "The id in [] is empty." },
    { line: 4, message: `The id "${"x".repeat(20)}…" is 65 characters long; at most 64 are allowed.` },
  ]);
});

test("a duplicate explicit id is an error naming both lines, and the preview keeps ids unique", () => {
  const { labels, errors } = parseTaxonomy(lines("Bird [bird]", "  Warbler", "", "Other [bird]"));
  assert.deepEqual(errors, [{ line: 4, message: 'The id "bird" is used on lines 1 and 4; ids must be unique.' }]);
  assert.deepEqual(labels.map((l) => l.id), ["bird", "other"]);
});

test(`labels nested deeper than ${MAX_DEPTH} levels are errors`, () => {
  const text = Array.from({ length: MAX_DEPTH + 1 }, (_, k) => `${"  ".repeat(k)}level ${k + 1}`).join("\n");
  assert.deepEqual(errorsOf(text), [{ line: 11, message: "Labels nest at most 10 levels deep; this one would be level 11." }]);
  assert.equal(maxDepth(parseTaxonomy(text).labels), 11);
});

test(`more than ${MAX_LABELS} labels is one error at the first label too many`, () => {
  const text = Array.from({ length: MAX_LABELS + 2 }, (_, k) => `L${k}`).join("\n");
  assert.deepEqual(errorsOf(text), [{ line: MAX_LABELS + 1, message: "At most 20000 labels are allowed; this is label 20001." }]);
});

test("invalid JSON is one error on the line where it breaks, in JSON.parse's words", () => {
  const cases = [
    ['[\n  {"name": "a"},\n  {"name": "b"\n]', 4, "Expected ',' or '}' after property value"],
    ['[\n  {"name": "a"},\n]', 3, "Unexpected token ']'"], // V8 gives no position: found by parsing prefixes
    ['[\n\n  {"name": x}]', 3, "Unexpected token 'x'"],
    [`[\n${'"x",\n'.repeat(300)} y]`, 302, "Unexpected token 'y'"],
    ['[{"name": "a"}', 1, "Expected ',' or ']' after array element"],
    ['[{"name": "a"},\n\n   ', 1, "Unexpected end of JSON input"], // the end: the last line with something on it
    ['{"labels": [\n\n"a\n"]}', 3, "Bad control character in string literal"],
    ['[{"name": "\\x"}]', 1, "Bad escaped character"],
    ["[]\n\n]", 3, "Unexpected non-whitespace character after JSON"],
    ["[".repeat(1000), 1, "Unexpected end of JSON input"],
  ];
  for (const [text, line, words] of cases) {
    const errors = errorsOf(text);
    assert.equal(errors.length, 1, text);
    assert.equal(errors[0].line, line, text);
    assert.equal(errors[0].message, `Not valid JSON: ${words}.`, text);
  }
});

test("deeply nested valid JSON is read without overflowing the stack", () => {
  const depth = 100_000;
  const text = `[${'{"name": "a", "x": '.repeat(depth)}1${"}".repeat(depth)}]`;
  assert.deepEqual(parseTaxonomy(text), { labels: [{ id: "a", name: "a" }], errors: [] });
  const nested = `[${'{"name": "n", "children": ['.repeat(12)}${"]}".repeat(12)}]`;
  assert.deepEqual(errorsOf(nested).map((e) => e.message)[0], "Labels nest at most 10 levels deep; this one would be level 11.");
});

test("lines stay right around strings holding brackets, quotes and escapes", () => {
  const text = lines(
    '{"labels": [',
    '  {"name": "a [b] {c}, \\"d\\": e\\\\", "note": "[{\\n", "children": [',
    '    {"name": "ok"},',
    "    {",
    '      "name": 7',
    "    }",
    "  ]}",
    "]}",
  );
  assert.deepEqual(errorsOf(text), [{ line: 5, message: '"name" must be a string.' }]);
});

test("JSON of the wrong shape is an error on the offending line", () => {
  assert.deepEqual(errorsOf('{"name": "a"}'), [{ line: 1, message: 'JSON must be an array of labels or an object with a "labels" array.' }]);
  assert.deepEqual(errorsOf('{"labels": {}}'), [{ line: 1, message: 'JSON must be an array of labels or an object with a "labels" array.' }]);
  assert.deepEqual(errorsOf(lines(
    "[",
    '  "鸟类",',
    '  {"id": "a"},',
    '  {"name": 5,',
    '   "id": 7},',
    '  {"name": "b", "children": {"name": "c"}},',
    '  {"name": "d", "id": "d", "children": [',
    '    {"name": " ", "id": "d"}',
    "  ]}",
    "]",
  )), [
    { line: 2, message: 'A label must be an object with a "name".' },
    { line: 3, message: 'This label has no "name".' },
    { line: 4, message: '"name" must be a string.' },
    { line: 5, message: '"id" must be a string.' },
    { line: 6, message: '"children" must be an array of labels.' },
    { line: 8, message: "The label name is empty." },
    { line: 8, message: 'The id "d" is used on lines 7 and 8; ids must be unique.' },
  ]);
});

test("toIndented writes two spaces per level and Name [id]", () => {
  assert.equal(toIndented(BIRDS), "鸟类 [l64bb19d6]\n  莺 [lc27f1673]\n    黄林莺 [l558de1fc]\n  麻雀 [lcb57413d]");
  assert.equal(toIndented([]), "");
});

test("toIndented round-trips through parseTaxonomy, awkward names included", () => {
  const tree = [
    { id: "bird", name: "鸟类", children: [
      { id: "warbler", name: "莺", children: [{ id: "yellow_warbler", name: "黄林莺" }, { id: "w.juv-1", name: "Warbler [juvenile]" }] },
      { id: "dash", name: "- dash" },
      { id: "star", name: "*" },
      { id: "minus", name: "-" },
      { id: "br", name: "[x]" },
    ] },
    { id: "other", name: "Other: id: thing" },
  ];
  assert.deepEqual(ok(toIndented(tree)), tree);
  assert.deepEqual(ok(toIndented(BIRDS)), BIRDS);
  const parsed = ok(lines("A", "  B", "    C", "  D", "E"));
  assert.deepEqual(ok(toIndented(parsed)), parsed);
});

test("countLabels counts every level and maxDepth counts levels", () => {
  assert.equal(countLabels(BIRDS), 4);
  assert.equal(maxDepth(BIRDS), 3);
  assert.equal(countLabels([]), 0);
  assert.equal(maxDepth([]), 0);
  assert.equal(maxDepth([{ id: "a", name: "a" }]), 1);
});

test("20,000 labels parse and round-trip", () => {
  const rows = [];
  for (let group = 0; group < 20; group++) {
    rows.push(`- 类别 ${group}`);
    for (let child = 0; child < 999; child++) rows.push(`  - 鸟 ${group}-${child}`);
  }
  const text = rows.join("\n");
  let start = performance.now();
  const { labels, errors } = parseTaxonomy(text);
  const parseMs = performance.now() - start;
  assert.deepEqual(errors, []);
  assert.equal(countLabels(labels), 20_000);
  assert.equal(maxDepth(labels), 2);
  assert.equal(labels[3].children[5].id, "3_5");
  start = performance.now();
  const again = parseTaxonomy(toIndented(labels));
  const roundMs = performance.now() - start;
  assert.deepEqual(again.labels, labels);
  const jsonStart = performance.now();
  assert.deepEqual(ok(JSON.stringify(labels)), labels);
  const jsonMs = performance.now() - jsonStart;
  console.log(`20,000 labels: indented ${parseMs.toFixed(1)} ms, round trip ${roundMs.toFixed(1)} ms, JSON ${jsonMs.toFixed(1)} ms`);
});

test("20,000 labels with the same name get distinct ids quickly", () => {
  const { labels, errors } = parseTaxonomy(Array(20_000).fill("黄林莺").join("\n"));
  assert.deepEqual(errors, []);
  assert.equal(new Set(labels.map((l) => l.id)).size, 20_000);
  assert.equal(labels[19_999].id, "l558de1fc_20000");
});
