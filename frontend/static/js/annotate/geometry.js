// Geometry for the image annotation canvas, free of the DOM so node can test it.
//
// Every coordinate on an object is in image pixels. A "view" {scale, x, y} maps image to screen:
//   screen = image * scale + [x, y]
// Every function is pure: it returns new arrays/objects and never changes its arguments.
// Tolerances are in image pixels too; to get a constant on-screen tolerance pass `px / view.scale`.

const clamp = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);

/**
 * The view that shows the whole image centred in a viewW x viewH viewport with `margin` screen pixels around it.
 * scale = min((viewW - 2m) / imageW, (viewH - 2m) / imageH). If the margin leaves no room the margin is dropped,
 * and if the viewport itself has no size the scale falls back to a tiny positive number, so scale is always > 0.
 * @returns {{scale: number, x: number, y: number}}
 */
export function fit(imageW, imageH, viewW, viewH, margin = 16) {
  const iw = imageW > 0 ? imageW : 1;
  const ih = imageH > 0 ? imageH : 1;
  const aw = viewW - 2 * margin > 0 ? viewW - 2 * margin : viewW;
  const ah = viewH - 2 * margin > 0 ? viewH - 2 * margin : viewH;
  let scale = Math.min(aw / iw, ah / ih);
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1e-6;
  return { scale, x: (viewW - iw * scale) / 2, y: (viewH - ih * scale) / 2 };
}

/** An image point [ix, iy] as a screen point [sx, sy] under `view`. */
export function toScreen(view, [ix, iy]) {
  return [ix * view.scale + view.x, iy * view.scale + view.y];
}

/** A screen point [sx, sy] (e.g. a mouse position) as an image point [ix, iy]; the inverse of toScreen. */
export function toImage(view, [sx, sy]) {
  return [(sx - view.x) / view.scale, (sy - view.y) / view.scale];
}

/**
 * Zoom by `factor` about the screen point [sx, sy] (the cursor): the image point under it stays under it.
 * The new scale is clamped to [min, max]; if the current scale already lies outside that range (e.g. a fit of a
 * huge image), the range is widened to include it, so zooming never jumps the opposite way to `factor`.
 * A non-finite or non-positive factor leaves the view as it is (as a copy).
 */
export function zoomAt(view, factor, [sx, sy], { min = 0.02, max = 40 } = {}) {
  if (!(factor > 0) || !Number.isFinite(factor)) return { ...view };
  const lo = Math.min(min, view.scale);
  const hi = Math.max(max, view.scale);
  const scale = clamp(view.scale * factor, lo, hi);
  const ix = (sx - view.x) / view.scale;
  const iy = (sy - view.y) / view.scale;
  return { ...view, scale, x: sx - ix * scale, y: sy - iy * scale };
}

/** The view after the screen changed from `before` to `after` ({width, height}): what was at the centre of the
 * screen stays at its centre, at the same scale. */
export function recentre(view, before, after) {
  return pan(view, (after.width - before.width) / 2, (after.height - before.height) / 2);
}

/** The view moved by dx, dy screen pixels (a drag of the canvas). */
export function pan(view, dx, dy) {
  return { ...view, x: view.x + dx, y: view.y + dy };
}

/** The box [x, y, w, h] spanned by two drag corners, with w, h >= 0 whichever way the drag went. */
export function normalizeBox([x1, y1], [x2, y2]) {
  return [Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1)];
}

/** The box intersected with the image [0, W] x [0, H]; w and/or h become 0 when it lies wholly outside. */
export function clampBox([x, y, w, h], W, H) {
  const x0 = clamp(Math.min(x, x + w), 0, W);
  const x1 = clamp(Math.max(x, x + w), 0, W);
  const y0 = clamp(Math.min(y, y + h), 0, H);
  const y1 = clamp(Math.max(y, y + h), 0, H);
  return [x0, y0, x1 - x0, y1 - y0];
}

const CORNERS = ["nw", "ne", "se", "sw"];
const EDGES = ["n", "e", "s", "w"];

/** The eight resize handles of a box: corners and edge midpoints, each [x, y]. */
export function boxHandles([x, y, w, h]) {
  const r = x + w, b = y + h, cx = x + w / 2, cy = y + h / 2;
  return { nw: [x, y], n: [cx, y], ne: [r, y], e: [r, cy], se: [r, b], s: [cx, b], sw: [x, b], w: [x, cy] };
}

/**
 * The name of the handle under `point`, or null. Distance is Chebyshev (max(|dx|, |dy|), i.e. a square handle of
 * half-size `tolerance`), inclusive. Corners win over edge midpoints when both are in range; otherwise the nearest wins
 * (ties go to the first in nw, ne, se, sw / n, e, s, w order).
 */
export function hitBoxHandle(box, [px, py], tolerance) {
  const handles = boxHandles(box);
  for (const group of [CORNERS, EDGES]) {
    let best = null, bestD = Infinity;
    for (const name of group) {
      const [hx, hy] = handles[name];
      const d = Math.max(Math.abs(px - hx), Math.abs(py - hy));
      if (d <= tolerance && d < bestD) { best = name; bestD = d; }
    }
    if (best) return best;
  }
  return null;
}

/**
 * The box after dragging `handle` ("nw", "n", ... "w") to `point` (clamped to the image [0, W] x [0, H]).
 * Only the edges the handle controls move; dragging past the opposite edge flips the box, which stays normalised.
 * An unknown handle returns the box unchanged (normalised).
 */
export function resizeBox(box, handle, point, W = Infinity, H = Infinity) {
  const [x, y, w, h] = box;
  let left = Math.min(x, x + w), right = Math.max(x, x + w);
  let top = Math.min(y, y + h), bottom = Math.max(y, y + h);
  const px = clamp(point[0], 0, W), py = clamp(point[1], 0, H);
  const hs = typeof handle === "string" ? handle : "";
  if (hs.length <= 2 && /^(n|s)?(e|w)?$/.test(hs)) {
    if (hs.includes("n")) top = py;
    if (hs.includes("s")) bottom = py;
    if (hs.includes("w")) left = px;
    if (hs.includes("e")) right = px;
  }
  return normalizeBox([left, top], [right, bottom]);
}

/**
 * The box moved by dx, dy image pixels, kept wholly inside the image; its size never changes.
 * A box larger than the image along an axis is pinned to 0 on that axis.
 */
export function moveBox([x, y, w, h], dx, dy, W = Infinity, H = Infinity) {
  return [clamp(x + dx, 0, Math.max(0, W - w)), clamp(y + dy, 0, Math.max(0, H - h)), w, h];
}

/** Whether `point` is in the box, edges inclusive, with the box grown by `tolerance` on every side. */
export function pointInBox([x, y, w, h], [px, py], tolerance = 0) {
  return px >= x - tolerance && px <= x + w + tolerance && py >= y - tolerance && py <= y + h + tolerance;
}

/**
 * Whether `point` is inside the polygon `points` ([[x, y], ...], implicitly closed), by the even-odd rule, so concave
 * and self-intersecting shapes work. Points exactly on an edge may go either way; use distanceToSegment for those.
 */
export function pointInPolygon(points, [px, py]) {
  let inside = false;
  const n = points.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = points[i][0], yi = points[i][1], xj = points[j][0], yj = points[j][1];
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Squared distance from (px, py) to the segment (ax, ay)-(bx, by), without allocating.
function segDist2(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = ax + t * dx - px, ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

/** The Euclidean distance from point `p` to the segment a-b (to a itself when a and b coincide). */
export function distanceToSegment(p, a, b) {
  return Math.sqrt(segDist2(p[0], p[1], a[0], a[1], b[0], b[1]));
}

/** The index of the vertex nearest to `point` within `tolerance` (Euclidean, inclusive), or -1. */
export function nearestVertex(points, [px, py], tolerance) {
  let best = -1, bestD = tolerance * tolerance;
  for (let i = 0; i < points.length; i++) {
    const dx = points[i][0] - px, dy = points[i][1] - py;
    const d = dx * dx + dy * dy;
    if (d <= bestD && (best === -1 || d < bestD)) { best = i; bestD = d; }
  }
  return best;
}

/**
 * The closest edge of the closed polygon within `tolerance` (Euclidean, inclusive), as {index, point}: edge `index`
 * runs from points[index] to points[(index + 1) % n] and `point` is the closest point on it. null when none is in
 * range or there are fewer than 2 points.
 */
export function nearestEdge(points, [px, py], tolerance) {
  const n = points.length;
  if (n < 2) return null;
  let best = -1, bestD = tolerance * tolerance;
  for (let i = 0; i < n; i++) {
    const a = points[i], b = points[(i + 1) % n];
    const d = segDist2(px, py, a[0], a[1], b[0], b[1]);
    if (d <= bestD && (best === -1 || d < bestD)) { best = i; bestD = d; }
  }
  if (best === -1) return null;
  const a = points[best], b = points[(best + 1) % n];
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? clamp(((px - a[0]) * dx + (py - a[1]) * dy) / len2, 0, 1) : 0;
  return { index: best, point: [a[0] + t * dx, a[1] + t * dy] };
}

const copyPoints = (points) => points.map((p) => [p[0], p[1]]);

/** New points with `point` inserted after points[edgeIndex] (i.e. splitting edge `edgeIndex`); clamped to the ends. */
export function insertVertex(points, edgeIndex, point) {
  const out = copyPoints(points);
  out.splice(clamp(edgeIndex + 1, 0, out.length), 0, [point[0], point[1]]);
  return out;
}

/** New points with vertex `index` moved to `point`; an out-of-range index gives an unchanged copy. */
export function moveVertex(points, index, point) {
  const out = copyPoints(points);
  if (index >= 0 && index < out.length) out[index] = [point[0], point[1]];
  return out;
}

/** New points without vertex `index`. A polygon never drops below 3 vertices: then (or for a bad index) an unchanged copy. */
export function removeVertex(points, index) {
  const out = copyPoints(points);
  if (out.length > 3 && index >= 0 && index < out.length) out.splice(index, 1);
  return out;
}

/** Whether a click at `point` closes the polygon being drawn: >= 3 points and within `tolerance` of the first (Euclidean). */
export function closesPolygon(points, point, tolerance) {
  if (points.length < 3) return false;
  const dx = point[0] - points[0][0], dy = point[1] - points[0][1];
  return dx * dx + dy * dy <= tolerance * tolerance;
}

/** The bounding box [x, y, w, h] of the points; [0, 0, 0, 0] for none. */
export function polygonBounds(points) {
  if (!points.length) return [0, 0, 0, 0];
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1 - x0, y1 - y0];
}

/** The polygon's area in square image pixels (shoelace formula, absolute, so winding does not matter). */
export function polygonArea(points) {
  let twice = 0;
  const n = points.length;
  for (let i = 0, j = n - 1; i < n; j = i++) twice += points[j][0] * points[i][1] - points[i][0] * points[j][1];
  return Math.abs(twice) / 2;
}

/** The point moved to the nearest place inside the image [0, W] x [0, H]. */
export function clampPoint([x, y], W, H) {
  return [clamp(x, 0, W), clamp(y, 0, H)];
}

// Whether (px, py) is inside the polygon or within sqrt(tol2) of one of its edges; no allocation.
function hitsPolygon(pts, px, py, tol2) {
  const n = pts.length;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = pts[i][0], yi = pts[i][1], xj = pts[j][0], yj = pts[j][1];
    if (segDist2(px, py, xj, yj, xi, yi) <= tol2) return true;
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * The index of the topmost object under `point`, or -1. Later objects are drawn on top, so the search runs from the
 * end; objects with `hidden: true` and unknown tools are skipped. A keypoint is hit within `tolerance` (Euclidean);
 * a box when the point is inside it or within `tolerance` of it (the box grown by tolerance, so Chebyshev at corners);
 * a polygon when inside (even-odd) or within `tolerance` of an edge (Euclidean).
 */
export function hitTest(objects, point, tolerance = 0) {
  const px = point[0], py = point[1], tol = tolerance, tol2 = tol * tol;
  for (let i = objects.length - 1; i >= 0; i--) {
    const o = objects[i];
    if (!o || o.hidden) continue;
    const tool = o.tool;
    if (tool === "bbox") {
      const b = o.bbox;
      if (!b) continue;
      let x0 = b[0], y0 = b[1], x1 = x0 + b[2], y1 = y0 + b[3];
      if (x1 < x0) { const t = x0; x0 = x1; x1 = t; }
      if (y1 < y0) { const t = y0; y0 = y1; y1 = t; }
      if (px >= x0 - tol && px <= x1 + tol && py >= y0 - tol && py <= y1 + tol) return i;
    } else if (tool === "keypoint") {
      const p = o.point;
      if (!p) continue;
      const dx = p[0] - px, dy = p[1] - py;
      if (dx * dx + dy * dy <= tol2) return i;
    } else if (tool === "polygon") {
      const pts = o.points;
      if (pts && pts.length && hitsPolygon(pts, px, py, tol2)) return i;
    }
  }
  return -1;
}

/** `value` rounded to `decimals` places (half away from zero), for what is sent to the server. Non-finite values pass through. */
export function roundCoord(value, decimals = 2) {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** decimals;
  const r = (Math.sign(value) * Math.round(Math.abs(value) * f)) / f;
  return r === 0 ? 0 : r; // no -0
}

/**
 * Indices (in order) of the objects whose bounds intersect the image rectangle visible in a viewW x viewH viewport,
 * touching edges included, to cull drawing. `pad` (screen pixels, default 0) grows that rectangle, e.g. by a keypoint's
 * drawn radius or a stroke width. `hidden` is not looked at: the caller decides how hidden objects are drawn.
 */
export function visibleObjects(objects, view, viewW, viewH, pad = 0) {
  const vx0 = (-pad - view.x) / view.scale, vy0 = (-pad - view.y) / view.scale;
  const vx1 = (viewW + pad - view.x) / view.scale, vy1 = (viewH + pad - view.y) / view.scale;
  const out = [];
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i];
    if (!o) continue;
    let x0, y0, x1, y1;
    if (o.tool === "bbox" && o.bbox) {
      const b = o.bbox, x = b[0], y = b[1], w = b[2], h = b[3];
      x0 = Math.min(x, x + w); x1 = Math.max(x, x + w); y0 = Math.min(y, y + h); y1 = Math.max(y, y + h);
    } else if (o.tool === "keypoint" && o.point) {
      x0 = x1 = o.point[0]; y0 = y1 = o.point[1];
    } else if (o.tool === "polygon" && o.points && o.points.length) {
      x0 = y0 = Infinity; x1 = y1 = -Infinity;
      for (const p of o.points) {
        if (p[0] < x0) x0 = p[0];
        if (p[0] > x1) x1 = p[0];
        if (p[1] < y0) y0 = p[1];
        if (p[1] > y1) y1 = p[1];
      }
    } else continue;
    if (x1 >= vx0 && x0 <= vx1 && y1 >= vy0 && y0 <= vy1) out.push(i);
  }
  return out;
}
