// The task viewer's arithmetic, free of the DOM so node can test it: a colour per annotator, every answer's
// objects as shapes to overlay on the image, a text cut into pieces by its spans, an answer in words.

// Distinct, colour-blind-friendly hues (Okabe-Ito, then Tol's bright) for up to 14 annotators; beyond that they
// repeat. The consensus is drawn in black, dashed.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
  "#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"];
export const CONSENSUS_COLOR = "#111111";

// A colour for each annotator, in the order of their first answer (stable while answers are added).
export function annotatorColors(answers) {
  const colors = new Map();
  for (const answer of answers) {
    if (!colors.has(answer.user_id)) colors.set(answer.user_id, PALETTE[colors.size % PALETTE.length]);
  }
  return colors;
}

// One object as an SVG shape in image pixels: {shape: "rect"|"polygon"|"circle", ...}; null for what it cannot
// draw (a malformed object never breaks the page).
export function shapeOf(object) {
  if (object.tool === "bbox" && Array.isArray(object.bbox) && object.bbox.length === 4) {
    const [x, y, width, height] = object.bbox;
    return { shape: "rect", x, y, width, height };
  }
  if (object.tool === "polygon" && Array.isArray(object.points) && object.points.length >= 3) {
    return { shape: "polygon", points: object.points.map(([x, y]) => `${x},${y}`).join(" ") };
  }
  if (object.tool === "keypoint" && Array.isArray(object.point) && object.point.length === 2) {
    return { shape: "circle", cx: object.point[0], cy: object.point[1] };
  }
  return null;
}

// Every answer's objects (and the consensus's, when given) as shapes with their owner, colour and label.
export function overlay(answers, colors, consensus = null) {
  const shapes = [];
  for (const answer of answers) {
    for (const object of (answer.result && answer.result.objects) || []) {
      const shape = shapeOf(object);
      if (shape) shapes.push({ ...shape, owner: answer.user_id, color: colors.get(answer.user_id), label: object.label });
    }
  }
  for (const object of (consensus && consensus.objects) || []) {
    const shape = shapeOf(object);
    if (shape) shapes.push({ ...shape, owner: "consensus", color: CONSENSUS_COLOR, label: object.label, dashed: true });
  }
  return shapes;
}

// A text cut at every span boundary: [{text, labels: [...]}] in order, so overlapping spans show as pieces
// carrying both labels. Offsets are in code points (as the API counts them), not UTF-16 units.
export function spanPieces(text, spans) {
  const chars = Array.from(text || "");
  const cuts = new Set([0, chars.length]);
  const valid = (spans || []).filter((s) => Number.isInteger(s.start) && Number.isInteger(s.end)
    && s.start >= 0 && s.end <= chars.length && s.start < s.end);
  for (const span of valid) { cuts.add(span.start); cuts.add(span.end); }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [from, to] = [points[i], points[i + 1]];
    const labels = valid.filter((s) => s.start <= from && s.end >= to).map((s) => s.label);
    pieces.push({ text: chars.slice(from, to).join(""), labels });
  }
  return pieces;
}

// An answer in words: its whole-item labels by path, then its objects and spans counted by label.
export function describeAnswer(result, paths) {
  if (!result) return "—";
  const parts = [];
  const name = (id) => paths.get(id) || id;
  if (Array.isArray(result.labels) && result.labels.length) parts.push(result.labels.map(name).join(", "));
  for (const key of ["objects", "spans"]) {
    const items = result[key];
    if (!Array.isArray(items) || !items.length) continue;
    const counts = new Map();
    for (const item of items) counts.set(item.label, (counts.get(item.label) || 0) + 1);
    parts.push([...counts].map(([id, n]) => `${name(id)}${n > 1 ? ` ×${n}` : ""}`).join(", "));
  }
  return parts.length ? parts.join("; ") : "—";
}

// The query string of the browser's filters, leaving out the empty ones.
export function filterQuery(filters) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value !== "" && value !== null && value !== undefined) query.set(key, String(value));
  }
  return query.toString();
}
