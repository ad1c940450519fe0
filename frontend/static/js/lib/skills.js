// Skills per subtree (GET /me/skills, /projects/{id}/skills): the annotator's tree and tier, the owner's
// heatmap. Free of the DOM so node can test it.

/**
 * The taxonomy depth-first: every label with its depth, in the schema's order.
 * @param {Array<{id: string, children?: Array}>} labels the label schema's `labels`
 * @returns {Array<{node: object, depth: number}>}
 */
export function flatten(labels, depth = 0, out = []) {
  for (const node of labels || []) {
    out.push({ node, depth });
    flatten(node.children, depth + 1, out);
  }
  return out;
}

/**
 * The rows of one annotator's skill tree: every label that has a skill, or a descendant with one (so a skill
 * sits under its subtree), in the schema's order, with its depth and skill (null when only a descendant has one).
 * @param {Array<{label: string|null}>} items the annotator's skills
 * @param {Array} labels the label schema's `labels`
 */
export function skillTree(items, labels) {
  const byLabel = new Map(items.filter((item) => item.label !== null).map((item) => [item.label, item]));
  const rows = [];
  const walk = (nodes, depth) => {
    let any = false;
    for (const node of nodes || []) {
      const at = rows.length;
      rows.push(null); // its place, kept if it or a descendant has a skill
      const below = walk(node.children, depth + 1);
      const skill = byLabel.get(node.id) || null;
      if (skill || below) {
        rows[at] = { node, depth, skill };
        any = true;
      }
    }
    return any;
  };
  walk(labels, 0);
  return rows.filter(Boolean);
}

/**
 * Where an annotator stands among the project's expert tiers (rewards.tiers, lowest first), by their
 * project-wide skill (the item whose label is null): the highest tier held and the next one with what it asks.
 * @param {{accuracy: number, answers: number}|null|undefined} whole
 * @param {Array<{min_accuracy: number, min_answers: number, multiplier: number}>} tiers
 */
export function tierStanding(whole, tiers) {
  let held = null;
  let next = null;
  (tiers || []).forEach((tier, index) => {
    const reached = Boolean(whole) && whole.accuracy >= tier.min_accuracy && whole.answers >= tier.min_answers;
    if (reached) held = { number: index + 1, multiplier: tier.multiplier };
    else if (next === null) next = { number: index + 1, ...tier };
  });
  if (held && next && next.number < held.number) next = null;
  return { held, next };
}

/**
 * The owner's heatmap: one row per annotator (their project-wide skill and their skill per subtree), one column
 * per label that anyone has a skill in, in the schema's order.
 * @param {Array<{user_id: number, label: string|null}>} items
 * @param {Array} labels the label schema's `labels`
 * @returns {{columns: Array<{node: object, depth: number}>, rows: Array<{userId: number, whole: object|null, cells: Map}>}}
 */
export function skillMatrix(items, labels) {
  const used = new Set(items.map((item) => item.label).filter((label) => label !== null));
  const columns = flatten(labels).filter(({ node }) => used.has(node.id));
  const rows = new Map();
  for (const item of items) {
    if (!rows.has(item.user_id)) rows.set(item.user_id, { userId: item.user_id, whole: null, cells: new Map() });
    const row = rows.get(item.user_id);
    if (item.label === null) row.whole = item;
    else row.cells.set(item.label, item);
  }
  return { columns, rows: [...rows.values()] };
}
