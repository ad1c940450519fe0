// Presenting quality numbers, free of the DOM so node can test it.

// A number for people: null (undefined for the data) shows as a dash, never as NaN.
export function formatNumber(value, digits = 3) {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : Number(value).toFixed(digits);
}

export function formatInterval(interval) {
  if (!interval || interval[0] === null || interval[1] === null) return "—";
  return `[${formatNumber(interval[0])}, ${formatNumber(interval[1])}]`;
}

export function formatShare(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

// per_label {id: {alpha, annotations}} as rows with each label's path, most used first.
export function labelRows(perLabel, paths) {
  return Object.entries(perLabel || {})
    .map(([id, row]) => ({ id, path: paths.get(id) || id, alpha: row.alpha, annotations: row.annotations }))
    .sort((a, b) => b.annotations - a.annotations || a.path.localeCompare(b.path));
}

// A consensus result's labels by their paths: "Bird › Warbler".
export function describeResult(result, paths) {
  if (!result || !Array.isArray(result.labels) || result.labels.length === 0) return "—";
  return result.labels.map((id) => paths.get(id) || id).join(", ");
}

// A consensus of objects by their labels, most frequent first: "Car › Sedan ×2, Truck › Pickup".
export function describeObjects(objects, paths) {
  if (!Array.isArray(objects) || objects.length === 0) return "—";
  const counts = new Map();
  for (const o of objects) counts.set(o.label, (counts.get(o.label) || 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])
    .map(([id, n]) => `${paths.get(id) || id}${n > 1 ? ` ×${n}` : ""}`).join(", ");
}

// Annotators sorted by a column, nulls last whichever way.
export function sortAnnotators(rows, key, descending = true) {
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null || x === undefined) return y === null || y === undefined ? a.user_id - b.user_id : 1;
    if (y === null || y === undefined) return -1;
    return descending ? y - x : x - y;
  });
}

// A confusion label: null is "drew no object here" in the objects' confusion.
export function confusionName(id, paths, noObject) {
  return id === null || id === undefined ? noObject : paths.get(id) || id;
}

// The objects block's per-label rows, with "no object" (an annotator who drew nothing where others did) last.
export function objectLabelRows(block, paths, noObject) {
  const rows = labelRows(block && block.per_label, paths);
  const none = block && block.no_object;
  if (none && none.annotations > 0) rows.push({ id: null, path: noObject, alpha: none.alpha, annotations: none.annotations });
  return rows;
}

// Per geometry tool of a wallet line's details.objects, the numbers a sentence needs: matched of drawn, the
// consensus count, mean localisation (null when nothing matched) and each mislabelled object by its label paths.
export function objectFindings(objects, paths = new Map()) {
  return Object.entries(objects || {}).map(([tool, found]) => ({
    tool,
    matched: found.matched,
    drawn: found.drawn,
    consensus: found.consensus,
    localisation: typeof found.localisation === "number" ? found.localisation : null,
    mislabelled: (found.mislabelled || []).map((m) => ({
      label: paths.get(m.label) || m.label, consensus: paths.get(m.consensus) || m.consensus, credit: m.credit })),
  }));
}
