// Painting the stage: the image, the objects in view and the shape being drawn, at most once a frame.
// Every function takes the stage's one state object (see ../stage.js).
import { boxHandles, normalizeBox, toScreen, visibleObjects } from "../geometry.js";

const HANDLE = 5; // screen px: half a handle's side
const COLORS = ["#2f6fde", "#d9480f", "#2b8a3e", "#ae3ec9", "#e67700", "#0c8599", "#c2255c", "#5c940d"];

/** A label's colour: its place in the taxonomy picks one of eight; no label is grey. */
export function colorFor(label, order) {
  if (!label) return "#868e96";
  const index = order.get(label);
  return COLORS[(index === undefined ? 0 : index) % COLORS.length];
}

const ratio = () => window.devicePixelRatio || 1;

/** Ask for a repaint on the next frame; several asks in one frame paint once. */
export function paint(stage) {
  if (!stage.frame) stage.frame = requestAnimationFrame(() => draw(stage));
}

/** Fit the canvas to its box, in device pixels, and repaint. */
export function resize(stage) {
  const { canvas } = stage;
  const box = canvas.parentElement.getBoundingClientRect();
  stage.size = { width: Math.max(1, Math.floor(box.width)), height: Math.max(1, Math.floor(box.height)) };
  canvas.width = Math.round(stage.size.width * ratio());
  canvas.height = Math.round(stage.size.height * ratio());
  canvas.style.width = `${stage.size.width}px`;
  canvas.style.height = `${stage.size.height}px`;
  paint(stage);
}

function draw(stage) {
  stage.frame = 0;
  const { context, size } = stage;
  const r = ratio();
  context.setTransform(r, 0, 0, r, 0, 0);
  context.clearRect(0, 0, size.width, size.height);
  if (!stage.image) return;
  drawImage(stage, r);
  drawObjects(stage);
  if (stage.drawing) drawInProgress(stage, colorFor(stage.host.currentLabel(), stage.host.labelOrder()));
}

function drawImage({ context, image, view }, r) {
  context.imageSmoothingEnabled = view.scale < 2;
  context.setTransform(r * view.scale, 0, 0, r * view.scale, r * view.x, r * view.y);
  context.drawImage(image, 0, 0);
  context.setTransform(r, 0, 0, r, 0, 0);
}

/** The objects in view, the document being dragged into shape (stage.preview) before the host's. */
function drawObjects(stage) {
  const { host, view, size } = stage;
  const current = stage.preview || host.doc();
  const order = host.labelOrder();
  const selected = host.selected();
  for (const index of visibleObjects(current.objects, view, size.width, size.height, 8)) {
    const object = current.objects[index];
    if (!object.hidden) drawObject(stage, object, colorFor(object.label, order), index === selected);
  }
}

function drawObject(stage, object, color, selected) {
  const { context } = stage;
  context.lineWidth = selected ? 2.5 : 1.5;
  context.strokeStyle = color;
  context.fillStyle = `${color}${selected ? "33" : "1a"}`;
  SHAPES[object.tool]?.(stage, object, color, selected);
}

function drawBox(stage, object, color, selected) {
  const { context, view } = stage;
  const [x, y, w, h] = object.bbox;
  const [sx, sy] = toScreen(view, [x, y]);
  context.fillRect(sx, sy, w * view.scale, h * view.scale);
  context.strokeRect(sx, sy, w * view.scale, h * view.scale);
  if (selected) for (const point of Object.values(boxHandles(object.bbox))) drawHandle(stage, point, color);
}

function drawPolygon(stage, object, color, selected) {
  const { context } = stage;
  tracePath(stage, object.points);
  context.closePath();
  context.fill();
  context.stroke();
  if (selected) for (const point of object.points) drawHandle(stage, point, color);
}

function drawKeypoint(stage, object, color, selected) {
  const { context, view } = stage;
  const [sx, sy] = toScreen(view, object.point);
  context.beginPath();
  context.arc(sx, sy, selected ? 6 : 4.5, 0, Math.PI * 2);
  context.fillStyle = color;
  context.fill();
  context.lineWidth = 1.5;
  context.strokeStyle = "#fff";
  context.stroke();
}

const SHAPES = { bbox: drawBox, polygon: drawPolygon, keypoint: drawKeypoint };

/** A path through image points (not closed, not stroked). */
function tracePath({ context, view }, points) {
  context.beginPath();
  points.forEach((point, i) => {
    const [sx, sy] = toScreen(view, point);
    if (i === 0) context.moveTo(sx, sy);
    else context.lineTo(sx, sy);
  });
}

function drawHandle({ context, view }, point, color) {
  const [sx, sy] = toScreen(view, point);
  context.fillStyle = "#fff";
  context.fillRect(sx - HANDLE, sy - HANDLE, HANDLE * 2, HANDLE * 2);
  context.lineWidth = 1.5;
  context.strokeStyle = color;
  context.strokeRect(sx - HANDLE, sy - HANDLE, HANDLE * 2, HANDLE * 2);
}

/** The box or polygon being drawn, dashed; a polygon's first point (where it closes) has a black handle. */
function drawInProgress(stage, color) {
  const { context, drawing, view } = stage;
  context.strokeStyle = color;
  context.lineWidth = 1.5;
  context.setLineDash([6, 4]);
  if (drawing.tool === "bbox" && drawing.to) {
    const [x, y, w, h] = normalizeBox(drawing.from, drawing.to);
    const [sx, sy] = toScreen(view, [x, y]);
    context.strokeRect(sx, sy, w * view.scale, h * view.scale);
  } else if (drawing.tool === "polygon") {
    tracePath(stage, drawing.hover ? [...drawing.points, drawing.hover] : drawing.points);
    context.stroke();
    context.setLineDash([]);
    drawing.points.forEach((point, i) => drawHandle(stage, point, i === 0 ? "#000" : color));
  }
  context.setLineDash([]);
}
