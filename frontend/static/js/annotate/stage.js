// The image stage: a canvas that shows the image and its objects, zooms (wheel, +/-), pans (drag on nothing,
// space+drag, middle button), and draws, selects, moves and resizes boxes, polygons and keypoints.
//
// It owns no answer: `host` gives the document and takes edits. During a drag it only repaints (a preview of
// the edited document); the edit is committed once, on release, so the side panel and the undo history do not
// change per mouse move. Painting is coalesced to one frame and culls objects outside the view.
import {
  boxHandles, closesPolygon, fit, hitBoxHandle, hitTest, moveBox, moveVertex, nearestEdge, nearestVertex,
  normalizeBox, pan, insertVertex, resizeBox, toImage, toScreen, visibleObjects, zoomAt, clampPoint,
} from "./geometry.js";

const HANDLE = 5; // screen px: half a handle's side
const TOLERANCE = 7; // screen px for hits
const COLORS = ["#2f6fde", "#d9480f", "#2b8a3e", "#ae3ec9", "#e67700", "#0c8599", "#c2255c", "#5c940d"];

export function colorFor(label, order) {
  if (!label) return "#868e96";
  const index = order.get(label);
  return COLORS[(index === undefined ? 0 : index) % COLORS.length];
}

export function createStage(canvas, host) {
  const context = canvas.getContext("2d");
  let view = { scale: 1, x: 0, y: 0 };
  let image = null;
  let size = { width: 0, height: 0 }; // CSS pixels of the canvas
  let frame = 0;
  let preview = null; // the document being dragged into shape, painted instead of host.doc()
  let drag = null; // {kind, start, ...}
  let drawing = null; // {tool: "bbox", from, to} or {tool: "polygon", points, hover}
  let spaceDown = false;
  const ratio = () => window.devicePixelRatio || 1;

  function doc() { return preview || host.doc(); }

  function resize() {
    const box = canvas.parentElement.getBoundingClientRect();
    size = { width: Math.max(1, Math.floor(box.width)), height: Math.max(1, Math.floor(box.height)) };
    canvas.width = Math.round(size.width * ratio());
    canvas.height = Math.round(size.height * ratio());
    canvas.style.width = `${size.width}px`;
    canvas.style.height = `${size.height}px`;
    paint();
  }

  function paint() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    const r = ratio();
    context.setTransform(r, 0, 0, r, 0, 0);
    context.clearRect(0, 0, size.width, size.height);
    if (!image) return;
    context.imageSmoothingEnabled = view.scale < 2;
    context.setTransform(r * view.scale, 0, 0, r * view.scale, r * view.x, r * view.y);
    context.drawImage(image, 0, 0);
    context.setTransform(r, 0, 0, r, 0, 0);
    const current = doc();
    const order = host.labelOrder();
    const selected = host.selected();
    for (const index of visibleObjects(current.objects, view, size.width, size.height, 8)) {
      const object = current.objects[index];
      if (object.hidden) continue;
      drawObject(object, colorFor(object.label, order), index === selected);
    }
    if (drawing) drawInProgress(colorFor(host.currentLabel(), order));
  }

  function drawObject(object, color, selected) {
    context.lineWidth = selected ? 2.5 : 1.5;
    context.strokeStyle = color;
    context.fillStyle = `${color}${selected ? "33" : "1a"}`;
    if (object.tool === "bbox") {
      const [x, y, w, h] = object.bbox;
      const [sx, sy] = toScreen(view, [x, y]);
      context.fillRect(sx, sy, w * view.scale, h * view.scale);
      context.strokeRect(sx, sy, w * view.scale, h * view.scale);
      if (selected) for (const point of Object.values(boxHandles(object.bbox))) handle(point, color);
    } else if (object.tool === "polygon") {
      context.beginPath();
      object.points.forEach((point, i) => {
        const [sx, sy] = toScreen(view, point);
        if (i === 0) context.moveTo(sx, sy); else context.lineTo(sx, sy);
      });
      context.closePath();
      context.fill();
      context.stroke();
      if (selected) for (const point of object.points) handle(point, color);
    } else if (object.tool === "keypoint") {
      const [sx, sy] = toScreen(view, object.point);
      context.beginPath();
      context.arc(sx, sy, selected ? 6 : 4.5, 0, Math.PI * 2);
      context.fillStyle = color;
      context.fill();
      context.lineWidth = 1.5;
      context.strokeStyle = "#fff";
      context.stroke();
    }
  }

  function handle(point, color) {
    const [sx, sy] = toScreen(view, point);
    context.fillStyle = "#fff";
    context.fillRect(sx - HANDLE, sy - HANDLE, HANDLE * 2, HANDLE * 2);
    context.lineWidth = 1.5;
    context.strokeStyle = color;
    context.strokeRect(sx - HANDLE, sy - HANDLE, HANDLE * 2, HANDLE * 2);
  }

  function drawInProgress(color) {
    context.strokeStyle = color;
    context.lineWidth = 1.5;
    context.setLineDash([6, 4]);
    if (drawing.tool === "bbox" && drawing.to) {
      const [x, y, w, h] = normalizeBox(drawing.from, drawing.to);
      const [sx, sy] = toScreen(view, [x, y]);
      context.strokeRect(sx, sy, w * view.scale, h * view.scale);
    } else if (drawing.tool === "polygon") {
      context.beginPath();
      [...drawing.points, ...(drawing.hover ? [drawing.hover] : [])].forEach((point, i) => {
        const [sx, sy] = toScreen(view, point);
        if (i === 0) context.moveTo(sx, sy); else context.lineTo(sx, sy);
      });
      context.stroke();
      context.setLineDash([]);
      drawing.points.forEach((point, i) => handle(point, i === 0 ? "#000" : color));
    }
    context.setLineDash([]);
  }

  const tolerance = () => TOLERANCE / view.scale;
  const pointer = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  const imagePoint = (event) => {
    const { width, height } = host.imageSize();
    return clampPoint(toImage(view, pointer(event)), width, height);
  };

  function onPointerDown(event) {
    if (!image) return;
    canvas.focus();
    const screen = pointer(event);
    if (event.button === 1 || spaceDown || event.button === 2) {
      drag = { kind: "pan", last: screen };
    } else if (host.tool() === "bbox") {
      drawing = { tool: "bbox", from: imagePoint(event), to: null };
    } else if (host.tool() === "keypoint") {
      host.addObject({ tool: "keypoint", label: host.currentLabel(), point: imagePoint(event) });
    } else if (host.tool() === "polygon") {
      const point = imagePoint(event);
      if (drawing && drawing.tool === "polygon" && closesPolygon(drawing.points, point, tolerance())) {
        finishPolygon();
      } else if (drawing && drawing.tool === "polygon") {
        const last = drawing.points[drawing.points.length - 1];
        // A double click (to finish) lands twice on the same spot: one vertex, not two.
        if (Math.hypot(point[0] - last[0], point[1] - last[1]) > tolerance()) drawing.points.push(point);
      } else {
        drawing = { tool: "polygon", points: [point], hover: null };
      }
    } else {
      startSelectDrag(event, screen);
    }
    if (drag || drawing) canvas.setPointerCapture(event.pointerId);
    paint();
  }

  function startSelectDrag(event, screen) {
    const point = toImage(view, screen);
    const current = host.doc();
    const selected = host.selected();
    const object = current.objects[selected];
    if (object && !object.hidden && object.tool === "bbox") {
      const name = hitBoxHandle(object.bbox, point, tolerance());
      if (name) {
        drag = { kind: "resize", index: selected, handle: name, original: object.bbox };
        return;
      }
    }
    if (object && !object.hidden && object.tool === "polygon") {
      const vertex = nearestVertex(object.points, point, tolerance());
      if (vertex >= 0) {
        drag = { kind: "vertex", index: selected, vertex };
        return;
      }
      if (event.altKey) { // Alt+click on an edge adds a vertex there
        const edge = nearestEdge(object.points, point, tolerance());
        if (edge) {
          host.commit(host.updateObject(current, selected, { points: insertVertex(object.points, edge.index, edge.point) }));
          drag = { kind: "vertex", index: selected, vertex: edge.index + 1 };
          return;
        }
      }
    }
    const hit = hitTest(current.objects, point, tolerance());
    host.select(hit);
    drag = hit >= 0 ? { kind: "move", index: hit, start: point, original: current.objects[hit] } :
      { kind: "pan", last: screen };
  }

  function onPointerMove(event) {
    const screen = pointer(event);
    if (drag && drag.kind === "pan") {
      view = pan(view, screen[0] - drag.last[0], screen[1] - drag.last[1]);
      drag.last = screen;
    } else if (drag) {
      preview = dragged(imagePoint(event));
    } else if (drawing && drawing.tool === "bbox") {
      drawing.to = imagePoint(event);
    } else if (drawing && drawing.tool === "polygon") {
      drawing.hover = imagePoint(event);
    } else {
      return;
    }
    paint();
  }

  function dragged(point) {
    const { width, height } = host.imageSize();
    const current = host.doc();
    if (drag.kind === "resize") {
      return host.updateObject(current, drag.index, { bbox: resizeBox(drag.original, drag.handle, point, width, height) });
    }
    if (drag.kind === "vertex") {
      const object = current.objects[drag.index];
      return host.updateObject(current, drag.index, { points: moveVertex(object.points, drag.vertex, point) });
    }
    const [dx, dy] = [point[0] - drag.start[0], point[1] - drag.start[1]];
    const object = drag.original;
    if (object.tool === "bbox") return host.updateObject(current, drag.index, { bbox: moveBox(object.bbox, dx, dy, width, height) });
    if (object.tool === "keypoint") {
      return host.updateObject(current, drag.index, { point: clampPoint([object.point[0] + dx, object.point[1] + dy], width, height) });
    }
    // A polygon moves whole, kept inside the image by its bounds.
    const xs = object.points.map((p) => p[0]);
    const ys = object.points.map((p) => p[1]);
    const mx = Math.min(Math.max(dx, -Math.min(...xs)), width - Math.max(...xs));
    const my = Math.min(Math.max(dy, -Math.min(...ys)), height - Math.max(...ys));
    return host.updateObject(current, drag.index, { points: object.points.map(([x, y]) => [x + mx, y + my]) });
  }

  function onPointerUp(event) {
    if (drag && drag.kind !== "pan" && preview) {
      const done = preview;
      preview = null;
      host.commit(done);
    }
    preview = null;
    drag = null;
    if (drawing && drawing.tool === "bbox") {
      const box = drawing.to ? normalizeBox(drawing.from, drawing.to) : null;
      drawing = null;
      if (box && box[2] * view.scale >= 3 && box[3] * view.scale >= 3) {
        host.addObject({ tool: "bbox", label: host.currentLabel(), bbox: box });
      }
    }
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
    paint();
  }

  function finishPolygon() {
    if (drawing && drawing.tool === "polygon" && drawing.points.length >= 3) {
      const points = drawing.points;
      drawing = null;
      host.addObject({ tool: "polygon", label: host.currentLabel(), points });
    }
    paint();
  }

  function onWheel(event) {
    if (!image) return;
    event.preventDefault();
    const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
    view = zoomAt(view, factor, pointer(event));
    paint();
  }

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);
  canvas.addEventListener("dblclick", finishPolygon);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  window.addEventListener("keydown", (event) => { if (event.code === "Space") spaceDown = true; });
  window.addEventListener("keyup", (event) => { if (event.code === "Space") spaceDown = false; });
  new ResizeObserver(resize).observe(canvas.parentElement);

  return {
    setImage(next) {
      image = next;
      drawing = null;
      preview = null;
      drag = null;
      resize();
      this.fit();
    },
    fit() {
      if (!image) return;
      const { width, height } = host.imageSize();
      view = fit(width, height, size.width, size.height);
      paint();
    },
    zoom(factor) {
      view = zoomAt(view, factor, [size.width / 2, size.height / 2]);
      paint();
    },
    // Escape: a shape being drawn is dropped (true), else nothing to cancel here (false).
    cancel() {
      const had = Boolean(drawing);
      drawing = null;
      paint();
      return had;
    },
    // Backspace while drawing a polygon takes back its last point (true when it did).
    undoPoint() {
      if (!drawing || drawing.tool !== "polygon") return false;
      drawing.points.pop();
      if (!drawing.points.length) drawing = null;
      paint();
      return true;
    },
    finishPolygon,
    drawing: () => Boolean(drawing),
    view: () => ({ ...view }),
    // Test and automation hook: where an image point is on the page (client pixels).
    clientPoint(point) {
      const box = canvas.getBoundingClientRect();
      const [sx, sy] = toScreen(view, point);
      return [box.left + sx, box.top + sy];
    },
    paint,
  };
}
