import { test } from "node:test";
import assert from "node:assert/strict";
import {
  boxHandles, clampBox, clampPoint, closesPolygon, distanceToSegment, fit, hitBoxHandle, hitTest, insertVertex,
  moveBox, moveVertex, nearestEdge, nearestVertex, normalizeBox, pan, pointInBox, pointInPolygon, polygonArea,
  polygonBounds, recentre, removeVertex, resizeBox, roundCoord, toImage, toScreen, visibleObjects, zoomAt,
} from "../static/js/annotate/geometry.js";

const close = (actual, expected, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${actual} to be within ${eps} of ${expected}`);
const closePoint = (actual, expected, eps = 1e-9) => {
  close(actual[0], expected[0], eps);
  close(actual[1], expected[1], eps);
};

// An L shape: the notch at the top right (x 5..10, y 0..5) is outside.
const L = [[0, 0], [5, 0], [5, 5], [10, 5], [10, 10], [0, 10]];

test("fit shows a 6000x4000 image in a 1200x800 view whole and centred", () => {
  const view = fit(6000, 4000, 1200, 800);
  close(view.scale, 768 / 4000); // the height is the tighter fit: (800 - 32) / 4000 = 0.192
  close(view.x, (1200 - 6000 * 0.192) / 2);
  close(view.y, 16);
  const [left, top] = toScreen(view, [0, 0]);
  const [right, bottom] = toScreen(view, [6000, 4000]);
  assert.ok(left >= 16 && top >= 16 - 1e-9 && right <= 1184 && bottom <= 784 + 1e-9);
  close((left + right) / 2, 600);
  close((top + bottom) / 2, 400);
});

test("fit takes the margin argument and the tighter axis", () => {
  const view = fit(100, 400, 1000, 1000, 0);
  close(view.scale, 2.5);
  close(view.x, 375);
  close(view.y, 0);
});

test("fit still gives a positive scale for tiny or empty views", () => {
  for (const [vw, vh] of [[20, 20], [32, 32], [1, 1], [0, 0], [-5, 10]]) {
    const view = fit(6000, 4000, vw, vh);
    assert.ok(view.scale > 0 && Number.isFinite(view.scale), `scale for ${vw}x${vh} was ${view.scale}`);
    assert.ok(Number.isFinite(view.x) && Number.isFinite(view.y));
  }
  assert.ok(fit(0, 0, 800, 600).scale > 0);
});

test("toImage undoes toScreen (and back) up to float error", () => {
  const view = { scale: 0.192, x: 24.5, y: -13.25 };
  for (const p of [[0, 0], [6000, 4000], [123.456, 3210.5], [-10, 7]]) {
    closePoint(toImage(view, toScreen(view, p)), p, 1e-9);
    closePoint(toScreen(view, toImage(view, p)), p, 1e-9);
  }
  assert.deepEqual(toScreen({ scale: 2, x: 10, y: 20 }, [3, 4]), [16, 28]);
  assert.deepEqual(toImage({ scale: 2, x: 10, y: 20 }, [16, 28]), [3, 4]);
});

test("zooming at a point keeps the image point under the cursor still", () => {
  const view = { scale: 0.5, x: 30, y: -40 };
  const cursor = [412, 233];
  const under = toImage(view, cursor);
  for (const factor of [1.1, 2, 0.5, 1 / 1.1]) {
    const zoomed = zoomAt(view, factor, cursor);
    close(zoomed.scale, 0.5 * factor);
    closePoint(toScreen(zoomed, under), cursor, 1e-9);
  }
});

test("zoom clamps at min and max and still keeps the cursor point fixed", () => {
  const view = { scale: 1, x: 0, y: 0 };
  const cursor = [100, 50];
  const under = toImage(view, cursor);
  const high = zoomAt(view, 1000, cursor);
  assert.equal(high.scale, 40);
  closePoint(toScreen(high, under), cursor);
  const low = zoomAt(view, 0.0001, cursor);
  assert.equal(low.scale, 0.02);
  closePoint(toScreen(low, under), cursor);
  assert.equal(zoomAt(view, 10, cursor, { max: 4 }).scale, 4);
  assert.equal(zoomAt(view, 0.1, cursor, { min: 0.5 }).scale, 0.5);
});

test("zooming from a scale already beyond the limits never moves the other way", () => {
  const tiny = { scale: 0.01, x: 0, y: 0 };
  close(zoomAt(tiny, 1.1, [0, 0]).scale, 0.011); // zoom in: not a jump to min
  assert.equal(zoomAt(tiny, 0.5, [0, 0]).scale, 0.01); // zoom out: stays put
  const huge = { scale: 50, x: 0, y: 0 };
  assert.equal(zoomAt(huge, 2, [0, 0]).scale, 50);
});

test("zoom with a bad factor leaves the view as it was", () => {
  const view = { scale: 1, x: 5, y: 6 };
  assert.deepEqual(zoomAt(view, 0, [1, 1]), view);
  assert.deepEqual(zoomAt(view, NaN, [1, 1]), view);
  assert.notEqual(zoomAt(view, 0, [1, 1]), view);
});

test("pan moves the view by screen pixels and leaves the scale alone", () => {
  const view = { scale: 3, x: 10, y: 20 };
  assert.deepEqual(pan(view, -5, 7), { scale: 3, x: 5, y: 27 });
  assert.deepEqual(view, { scale: 3, x: 10, y: 20 });
});

test("normalizeBox gives non-negative size whatever the drag direction", () => {
  assert.deepEqual(normalizeBox([10, 20], [30, 50]), [10, 20, 20, 30]);
  assert.deepEqual(normalizeBox([30, 50], [10, 20]), [10, 20, 20, 30]);
  assert.deepEqual(normalizeBox([30, 20], [10, 50]), [10, 20, 20, 30]);
  assert.deepEqual(normalizeBox([5, 5], [5, 5]), [5, 5, 0, 0]);
});

test("clampBox cuts a box to the image and collapses one wholly outside", () => {
  assert.deepEqual(clampBox([10, 10, 20, 20], 100, 100), [10, 10, 20, 20]);
  assert.deepEqual(clampBox([-10, -5, 30, 20], 100, 100), [0, 0, 20, 15]);
  assert.deepEqual(clampBox([90, 95, 30, 30], 100, 100), [90, 95, 10, 5]);
  assert.deepEqual(clampBox([-50, -50, 300, 300], 100, 80), [0, 0, 100, 80]);
  const outside = clampBox([150, 10, 20, 20], 100, 100);
  assert.equal(outside[2], 0);
  assert.equal(outside[3], 20);
  assert.deepEqual(clampBox([150, 150, 20, 20], 100, 100).slice(2), [0, 0]);
});

test("boxHandles puts handles on the corners and edge midpoints", () => {
  assert.deepEqual(boxHandles([10, 20, 100, 50]), {
    nw: [10, 20], n: [60, 20], ne: [110, 20], e: [110, 45],
    se: [110, 70], s: [60, 70], sw: [10, 70], w: [10, 45],
  });
});

test("hitBoxHandle finds the handle within tolerance by Chebyshev distance", () => {
  const box = [10, 20, 100, 50];
  assert.equal(hitBoxHandle(box, [12, 22], 4), "nw");
  assert.equal(hitBoxHandle(box, [114, 74], 4), "se"); // |dx| = |dy| = 4: inside the square, outside a circle
  assert.equal(hitBoxHandle(box, [60, 17], 4), "n");
  assert.equal(hitBoxHandle(box, [106, 45], 4), "e");
  assert.equal(hitBoxHandle(box, [60, 45], 4), null);
  assert.equal(hitBoxHandle(box, [115, 74], 4), null);
});

test("hitBoxHandle prefers a corner over an edge midpoint when both are in range", () => {
  const small = [0, 0, 8, 8]; // n is at (4, 0), nw at (0, 0)
  assert.equal(hitBoxHandle(small, [3, 0], 5), "nw"); // nearer n, but nw is in range too
  assert.equal(hitBoxHandle(small, [7, 1], 5), "ne");
  assert.equal(hitBoxHandle([0, 0, 100, 100], [50, 98], 5), "s");
});

test("resizeBox moves only the edges the handle controls", () => {
  const box = [10, 10, 100, 50];
  assert.deepEqual(resizeBox(box, "se", [150, 80]), [10, 10, 140, 70]);
  assert.deepEqual(resizeBox(box, "nw", [0, 5]), [0, 5, 110, 55]);
  assert.deepEqual(resizeBox(box, "n", [999, 0]), [10, 0, 100, 60]);
  assert.deepEqual(resizeBox(box, "e", [130, -999]), [10, 10, 120, 50]);
  assert.deepEqual(resizeBox(box, "s", [0, 70]), [10, 10, 100, 60]);
  assert.deepEqual(resizeBox(box, "w", [20, 0]), [20, 10, 90, 50]);
  assert.deepEqual(resizeBox(box, "ne", [120, 0]), [10, 0, 110, 60]);
  assert.deepEqual(resizeBox(box, "sw", [0, 100]), [0, 10, 110, 90]);
});

test("dragging a handle past the opposite edge flips the box and keeps it normalised", () => {
  const box = [10, 10, 100, 50];
  assert.deepEqual(resizeBox(box, "e", [0, 30]), [0, 10, 10, 50]);
  assert.deepEqual(resizeBox(box, "n", [50, 80]), [10, 60, 100, 20]);
  assert.deepEqual(resizeBox(box, "se", [5, 0]), [5, 0, 5, 10]);
  assert.deepEqual(resizeBox(box, "nw", [200, 100]), [110, 60, 90, 40]);
  for (const r of [resizeBox(box, "w", [500, 0]), resizeBox(box, "s", [0, -500])]) assert.ok(r[2] >= 0 && r[3] >= 0);
});

test("resizeBox clamps the dragged point to the image", () => {
  const box = [10, 10, 50, 50];
  assert.deepEqual(resizeBox(box, "se", [500, 500], 100, 80), [10, 10, 90, 70]);
  assert.deepEqual(resizeBox(box, "nw", [-20, -30], 100, 80), [0, 0, 60, 60]);
  assert.deepEqual(resizeBox(box, "e", [-40, 0], 100, 80), [0, 10, 10, 50]); // flip stops at the image edge
  assert.deepEqual(resizeBox(box, "bogus", [0, 0], 100, 80), [10, 10, 50, 50]);
});

test("moveBox moves a box but keeps it wholly inside the image at the same size", () => {
  assert.deepEqual(moveBox([10, 10, 20, 20], 5, -3), [15, 7, 20, 20]);
  assert.deepEqual(moveBox([10, 10, 20, 20], -50, -50, 100, 100), [0, 0, 20, 20]);
  assert.deepEqual(moveBox([10, 10, 20, 20], 500, 500, 100, 80), [80, 60, 20, 20]);
  assert.deepEqual(moveBox([10, 10, 20, 20], 1000, 1000), [1010, 1010, 20, 20]); // no image size: no right/bottom limit
  assert.deepEqual(moveBox([0, 0, 150, 20], 10, 10, 100, 100), [0, 10, 150, 20]); // wider than the image: pinned at 0
});

test("pointInBox counts the edges and grows by the tolerance", () => {
  const box = [10, 10, 20, 20];
  assert.equal(pointInBox(box, [15, 15]), true);
  assert.equal(pointInBox(box, [10, 30]), true);
  assert.equal(pointInBox(box, [30.5, 20]), false);
  assert.equal(pointInBox(box, [32, 20], 2), true);
  assert.equal(pointInBox(box, [32.1, 20], 2), false);
  assert.equal(pointInBox(box, [8, 8], 2), true);
});

test("pointInPolygon uses even-odd and handles concave polygons", () => {
  assert.equal(pointInPolygon(L, [2, 2]), true);
  assert.equal(pointInPolygon(L, [8, 8]), true);
  assert.equal(pointInPolygon(L, [8, 2]), false); // inside the bounds, in the notch
  assert.equal(pointInPolygon(L, [11, 5]), false);
  assert.equal(pointInPolygon(L, [-1, 5]), false);
  // A bow tie crosses itself; each lobe is inside.
  const bowtie = [[0, 0], [10, 10], [10, 0], [0, 10]];
  assert.equal(pointInPolygon(bowtie, [2, 5]), true);
  assert.equal(pointInPolygon(bowtie, [5, 2]), false);
  // Even-odd: a pentagram's centre is outside.
  const star = [0, 2, 4, 1, 3].map((k) => [Math.cos((k * 2 * Math.PI) / 5) * 10, Math.sin((k * 2 * Math.PI) / 5) * 10]);
  assert.equal(pointInPolygon(star, [0, 0]), false);
  assert.equal(pointInPolygon(star, [8, 0]), true);
  assert.equal(pointInPolygon([], [0, 0]), false);
});

test("distanceToSegment measures to the nearest point of the segment", () => {
  close(distanceToSegment([5, 3], [0, 0], [10, 0]), 3);
  close(distanceToSegment([-3, 4], [0, 0], [10, 0]), 5); // beyond the end: to the end point
  close(distanceToSegment([13, 4], [0, 0], [10, 0]), 5);
  close(distanceToSegment([3, 4], [0, 0], [0, 0]), 5); // a degenerate segment is a point
  close(distanceToSegment([0, 10], [0, 0], [10, 10]), Math.SQRT2 * 5);
});

test("nearestVertex picks the nearest vertex in range or -1", () => {
  assert.equal(nearestVertex(L, [5.5, 4.5], 2), 2);
  assert.equal(nearestVertex(L, [9, 9], 2), 4);
  assert.equal(nearestVertex(L, [5, 7.5], 2), -1);
  assert.equal(nearestVertex([[0, 0], [3, 0]], [1, 0], 5), 0);
  assert.equal(nearestVertex([], [0, 0], 5), -1);
});

test("nearestEdge finds the closest edge, including the closing one, with the point on it", () => {
  const square = [[0, 0], [10, 0], [10, 10], [0, 10]];
  const top = nearestEdge(square, [4, -1], 2);
  assert.equal(top.index, 0);
  closePoint(top.point, [4, 0]);
  const closing = nearestEdge(square, [1, 6], 2); // from points[3] back to points[0]
  assert.equal(closing.index, 3);
  closePoint(closing.point, [0, 6]);
  assert.equal(nearestEdge(square, [5, 5], 2), null);
  assert.equal(nearestEdge([[1, 1]], [1, 1], 5), null);
  const corner = nearestEdge(square, [11, 4], 2);
  assert.deepEqual([corner.index, ...corner.point], [1, 10, 4]);
});

test("insertVertex puts the point after the edge's first vertex", () => {
  const square = [[0, 0], [10, 0], [10, 10], [0, 10]];
  assert.deepEqual(insertVertex(square, 0, [5, 0]), [[0, 0], [5, 0], [10, 0], [10, 10], [0, 10]]);
  assert.deepEqual(insertVertex(square, 3, [0, 5]), [[0, 0], [10, 0], [10, 10], [0, 10], [0, 5]]);
  assert.equal(square.length, 4);
});

test("moveVertex replaces one vertex and leaves the rest", () => {
  const tri = [[0, 0], [10, 0], [0, 10]];
  assert.deepEqual(moveVertex(tri, 1, [20, 5]), [[0, 0], [20, 5], [0, 10]]);
  assert.deepEqual(moveVertex(tri, 7, [20, 5]), tri);
  assert.deepEqual(tri, [[0, 0], [10, 0], [0, 10]]);
});

test("removeVertex drops a vertex but refuses to go below 3", () => {
  const square = [[0, 0], [10, 0], [10, 10], [0, 10]];
  const tri = removeVertex(square, 1);
  assert.deepEqual(tri, [[0, 0], [10, 10], [0, 10]]);
  const same = removeVertex(tri, 0);
  assert.deepEqual(same, tri);
  assert.notEqual(same, tri); // still a copy
  assert.deepEqual(removeVertex(square, -1), square);
  assert.equal(square.length, 4);
});

test("closesPolygon is true only near the first point once there are three points", () => {
  const drawing = [[0, 0], [10, 0], [10, 10]];
  assert.equal(closesPolygon(drawing, [1, 1], 2), true);
  assert.equal(closesPolygon(drawing, [3, 0], 2), false);
  assert.equal(closesPolygon(drawing.slice(0, 2), [0, 0], 2), false);
});

test("polygonBounds and polygonArea describe the shape", () => {
  assert.deepEqual(polygonBounds(L), [0, 0, 10, 10]);
  assert.deepEqual(polygonBounds([[5, -2], [1, 7], [3, 3]]), [1, -2, 4, 9]);
  assert.deepEqual(polygonBounds([]), [0, 0, 0, 0]);
  assert.equal(polygonArea(L), 75);
  assert.equal(polygonArea([...L].reverse()), 75); // winding does not matter
  assert.equal(polygonArea([[0, 0], [4, 0], [0, 3]]), 6);
  assert.equal(polygonArea([[0, 0], [1, 1]]), 0);
});

test("clampPoint keeps a point inside the image", () => {
  assert.deepEqual(clampPoint([-5, 50], 100, 80), [0, 50]);
  assert.deepEqual(clampPoint([150, 90], 100, 80), [100, 80]);
  assert.deepEqual(clampPoint([20, 30], 100, 80), [20, 30]);
});

test("hitTest returns the topmost object hit", () => {
  const objects = [
    { tool: "bbox", bbox: [0, 0, 100, 100] },
    { tool: "bbox", bbox: [50, 50, 100, 100] },
  ];
  assert.equal(hitTest(objects, [75, 75], 0), 1);
  assert.equal(hitTest(objects, [25, 25], 0), 0);
  assert.equal(hitTest(objects, [200, 200], 0), -1);
  assert.equal(hitTest([], [0, 0], 5), -1);
});

test("hitTest skips hidden objects", () => {
  const objects = [
    { tool: "bbox", bbox: [0, 0, 100, 100] },
    { tool: "bbox", bbox: [0, 0, 100, 100], hidden: true },
  ];
  assert.equal(hitTest(objects, [50, 50], 0), 0);
  assert.equal(hitTest([{ ...objects[1] }], [50, 50], 0), -1);
});

test("hitTest hits boxes, keypoints and polygons within tolerance", () => {
  const objects = [
    { tool: "bbox", bbox: [0, 0, 10, 10] },
    { tool: "keypoint", point: [50, 50] },
    { tool: "polygon", points: L.map(([x, y]) => [x + 100, y]) },
  ];
  assert.equal(hitTest(objects, [12, 5], 3), 0);
  assert.equal(hitTest(objects, [14, 5], 3), -1);
  assert.equal(hitTest(objects, [52, 52], 3), 1);
  assert.equal(hitTest(objects, [53, 53], 3), -1); // distance 4.24 > 3
  assert.equal(hitTest(objects, [102, 8], 0), 2);
  assert.equal(hitTest(objects, [108, 2], 0), -1); // in the concave notch
  assert.equal(hitTest(objects, [108, 4], 1.5), 2); // near the notch's edge
  assert.equal(hitTest(objects, [111, 8], 1.5), 2); // just outside the right edge
  assert.equal(hitTest([{ tool: "text" }, { tool: "polygon", points: [] }], [0, 0], 10), -1);
});

test("roundCoord rounds to the given decimals", () => {
  assert.equal(roundCoord(12.34567), 12.35);
  assert.equal(roundCoord(12.34567, 0), 12);
  assert.equal(roundCoord(12.34567, 3), 12.346);
  assert.equal(roundCoord(-2.5, 0), -3);
  assert.ok(Object.is(roundCoord(-0.001), 0));
  assert.equal(roundCoord(100), 100);
});

test("visibleObjects keeps only objects inside the visible part of the image", () => {
  const view = { scale: 1, x: -1000, y: -500 }; // shows image x 1000..1800, y 500..1100 in an 800x600 view
  const objects = [
    { tool: "bbox", bbox: [1100, 600, 50, 50] }, // inside
    { tool: "bbox", bbox: [10, 10, 50, 50] }, // far away
    { tool: "bbox", bbox: [950, 450, 60, 60] }, // overlaps the top left corner
    { tool: "keypoint", point: [1500, 800] }, // inside
    { tool: "keypoint", point: [1805, 800] }, // just right of the view
    { tool: "polygon", points: [[0, 0], [3000, 0], [3000, 100]] }, // above the view
    { tool: "polygon", points: [[900, 1000], [2000, 1000], [1500, 1500]] }, // crosses the bottom
    { tool: "bbox", bbox: [1000, 500, 10, 10], hidden: true }, // inside but hidden: still listed
  ];
  assert.deepEqual(visibleObjects(objects, view, 800, 600), [0, 2, 3, 6, 7]);
  assert.deepEqual(visibleObjects(objects, view, 800, 600, 10), [0, 2, 3, 4, 6, 7]);
});

test("visibleObjects culls a 6000x4000 image with 300 boxes to those in view", () => {
  const objects = boxes300();
  const all = visibleObjects(objects, fit(6000, 4000, 1200, 800), 1200, 800);
  assert.equal(all.length, 300);
  const zoomed = zoomAt(fit(6000, 4000, 1200, 800), 20, [600, 400]);
  const [x0, y0] = toImage(zoomed, [0, 0]);
  const [x1, y1] = toImage(zoomed, [1200, 800]);
  const expected = objects.flatMap((o, i) => {
    const [x, y, w, h] = o.bbox;
    return x + w >= x0 && x <= x1 && y + h >= y0 && y <= y1 ? [i] : [];
  });
  const visible = visibleObjects(objects, zoomed, 1200, 800);
  assert.deepEqual(visible, expected);
  assert.ok(visible.length < 300);
});

test("geometry functions never change their inputs", () => {
  const box = [10, 10, 20, 20];
  const pts = L.map((p) => [...p]);
  const view = { scale: 1, x: 0, y: 0 };
  const objs = [{ tool: "bbox", bbox: box }, { tool: "polygon", points: pts }, { tool: "keypoint", point: [3, 3] }];
  const before = structuredClone({ box, pts, view, objs });
  zoomAt(view, 2, [1, 1]); pan(view, 1, 1); clampBox(box, 5, 5); resizeBox(box, "se", [0, 0]); moveBox(box, 1, 1, 5, 5);
  insertVertex(pts, 1, [1, 1]); moveVertex(pts, 1, [1, 1]); removeVertex(pts, 1); polygonBounds(pts); polygonArea(pts);
  clampPoint(box, 5, 5); normalizeBox(box, [0, 0]); hitTest(objs, [1, 1], 1); visibleObjects(objs, view, 10, 10);
  assert.deepEqual({ box, pts, view, objs }, before);
  const moved = moveVertex(pts, 0, [9, 9]);
  assert.notEqual(moved[1], pts[1]); // no shared vertex arrays either
  assert.notEqual(pan(view, 0, 0), view);
});

// 300 boxes scattered over a 6000x4000 image, from a fixed seed so runs are repeatable.
function boxes300() {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: 300 }, () => {
    const w = 20 + rand() * 300, h = 20 + rand() * 300;
    return { tool: "bbox", bbox: [rand() * (6000 - w), rand() * (4000 - h), w, h], hidden: rand() < 0.05 };
  });
}

test("hit-testing 300 boxes on a 6000x4000 image 10,000 times (prints the time per hit test)", () => {
  const objects = boxes300();
  const points = Array.from({ length: 10000 }, (_, i) => [(i * 7919) % 6000, (i * 104729) % 4000]);
  let hits = 0;
  for (let i = 0; i < 5000; i++) hitTest(objects, points[i], 4); // warm up so the JIT has compiled it
  const start = process.hrtime.bigint();
  for (const p of points) if (hitTest(objects, p, 4) !== -1) hits++;
  const micros = Number(process.hrtime.bigint() - start) / 1000 / points.length;
  console.log(`hitTest over 300 boxes: ${micros.toFixed(2)} µs per hit test (${hits} of ${points.length} hit something)`);
  assert.ok(hits > 0);
});

test("recentre keeps the image point at the centre of the screen when the screen changes size", () => {
  const view = { scale: 2, x: -100, y: 40 };
  const before = { width: 800, height: 600 };
  const after = { width: 800, height: 400 }; // a panel opened above the canvas
  const moved = recentre(view, before, after);
  const centre = (v, size) => toImage(v, [size.width / 2, size.height / 2]);
  assert.deepEqual(centre(moved, after), centre(view, before));
  assert.equal(moved.scale, 2);
  assert.deepEqual(recentre(view, before, before), view);
});
