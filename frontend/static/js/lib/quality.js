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
