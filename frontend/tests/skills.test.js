import { test } from "node:test";
import assert from "node:assert/strict";
import { flatten, skillMatrix, skillTree, tierStanding } from "../static/js/lib/skills.js";

const LABELS = [
  { id: "warbler", name: "Warbler", children: [{ id: "willow_warbler", name: "Willow" }, { id: "chiffchaff", name: "Chiffchaff" }] },
  { id: "raptor", name: "Raptor", children: [{ id: "kestrel", name: "Kestrel" }] },
];

test("the taxonomy flattens depth-first with depths", () => {
  assert.deepEqual(flatten(LABELS).map(({ node, depth }) => [node.id, depth]),
    [["warbler", 0], ["willow_warbler", 1], ["chiffchaff", 1], ["raptor", 0], ["kestrel", 1]]);
});

test("a skill tree keeps labels with a skill and the ancestors above them, in schema order", () => {
  const items = [{ label: null, accuracy: 0.8 }, { label: "chiffchaff", accuracy: 0.9 }, { label: "raptor", accuracy: 0.2 }];
  const rows = skillTree(items, LABELS);
  assert.deepEqual(rows.map((row) => [row.node.id, row.depth, row.skill && row.skill.accuracy]),
    [["warbler", 0, null], ["chiffchaff", 1, 0.9], ["raptor", 0, 0.2]]);
  assert.deepEqual(skillTree([], LABELS), []);
});

test("tier standing: the highest tier reached and the next one's asks", () => {
  const tiers = [{ min_accuracy: 0.8, min_answers: 10, multiplier: 1.5 }, { min_accuracy: 0.95, min_answers: 50, multiplier: 2 }];
  assert.deepEqual(tierStanding(null, tiers), { held: null, next: { number: 1, ...tiers[0] } });
  assert.deepEqual(tierStanding({ accuracy: 0.9, answers: 9 }, tiers), { held: null, next: { number: 1, ...tiers[0] } });
  assert.deepEqual(tierStanding({ accuracy: 0.9, answers: 20 }, tiers), { held: { number: 1, multiplier: 1.5 }, next: { number: 2, ...tiers[1] } });
  assert.deepEqual(tierStanding({ accuracy: 0.99, answers: 80 }, tiers), { held: { number: 2, multiplier: 2 }, next: null });
  assert.deepEqual(tierStanding({ accuracy: 0.99, answers: 80 }, []), { held: null, next: null });
});

test("the heatmap has a row per annotator and a column per label anyone has a skill in", () => {
  const items = [{ user_id: 2, label: null, accuracy: 0.5 }, { user_id: 2, label: "kestrel", accuracy: 0.1 },
    { user_id: 3, label: "warbler", accuracy: 0.9 }];
  const { columns, rows } = skillMatrix(items, LABELS);
  assert.deepEqual(columns.map(({ node }) => node.id), ["warbler", "kestrel"]);
  assert.deepEqual(rows.map((row) => [row.userId, row.whole && row.whole.accuracy, [...row.cells.keys()]]),
    [[2, 0.5, ["kestrel"]], [3, null, ["warbler"]]]);
});
