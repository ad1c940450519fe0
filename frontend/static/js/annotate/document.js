// The answer being made for one task, as an immutable document: whole-item labels, drawn objects, text spans.
// Every edit returns a new document (the undo history keeps the old ones). DOM-free: node tests it.

export function emptyDocument() {
  return { labels: [], objects: [], spans: [] };
}

const round = (value) => Math.round(value * 100) / 100;

// The parts of a result this schema's tools allow.
export function resultParts(schema) {
  const tools = schema.tools || [];
  return {
    labels: tools.includes("classify"),
    objects: ["bbox", "polygon", "keypoint"].some((tool) => tools.includes(tool)),
    spans: tools.includes("span"),
  };
}

// The document as the API's `result` (hidden is a view setting, not part of the answer; coordinates rounded to
// 1/100 px). Only the parts the schema allows; objects and spans even when empty (an answer "nothing here").
export function toResult(doc, schema) {
  const parts = resultParts(schema);
  const result = {};
  if (parts.labels && doc.labels.length) result.labels = [...doc.labels];
  if (parts.objects) {
    result.objects = doc.objects.map((object) => {
      const out = { tool: object.tool, label: object.label };
      if (object.tool === "bbox") out.bbox = object.bbox.map(round);
      if (object.tool === "polygon") out.points = object.points.map((p) => [round(p[0]), round(p[1])]);
      if (object.tool === "keypoint") out.point = object.point.map(round);
      if (object.attributes && Object.keys(object.attributes).length) out.attributes = { ...object.attributes };
      return out;
    });
  }
  if (parts.spans) result.spans = doc.spans.map(({ start, end, label }) => ({ start, end, label }));
  return result;
}

// What stops a submit, in the document itself (the server checks everything again): a message key or null.
export function problem(doc, schema) {
  const parts = resultParts(schema);
  if (doc.objects.some((object) => !object.label) || doc.spans.some((span) => !span.label)) return "ws.needLabel";
  // A schema with drawing tools may answer "nothing here" (no objects); classification alone needs a label.
  if (parts.labels && !parts.objects && !parts.spans && !doc.labels.length) return "ws.nothing";
  return null;
}

export function addObject(doc, object) {
  return { ...doc, objects: [...doc.objects, { attributes: {}, ...object }] };
}

export function updateObject(doc, index, changes) {
  if (index < 0 || index >= doc.objects.length) return doc;
  const objects = doc.objects.slice();
  objects[index] = { ...objects[index], ...changes };
  return { ...doc, objects };
}

export function removeObject(doc, index) {
  if (index < 0 || index >= doc.objects.length) return doc;
  return { ...doc, objects: doc.objects.filter((_, i) => i !== index) };
}

export function setAttribute(doc, index, name, value) {
  const object = doc.objects[index];
  if (!object) return doc;
  const attributes = { ...(object.attributes || {}) };
  if (value === undefined || value === null || value === "") delete attributes[name];
  else attributes[name] = value;
  return updateObject(doc, index, { attributes });
}

export function toggleHidden(doc, index) {
  const object = doc.objects[index];
  return object ? updateObject(doc, index, { hidden: !object.hidden }) : doc;
}

export function setAllHidden(doc, hidden) {
  return { ...doc, objects: doc.objects.map((object) => ({ ...object, hidden })) };
}

// Whole-item labels: multi-label toggles, single-label replaces (choosing the chosen one clears it).
export function chooseLabel(doc, id, multiLabel) {
  if (doc.labels.includes(id)) return { ...doc, labels: doc.labels.filter((x) => x !== id) };
  return { ...doc, labels: multiLabel ? [...doc.labels, id] : [id] };
}

// A span over [start, end) in code points; an identical span is not added twice. Kept in text order.
export function addSpan(doc, start, end, label = null) {
  if (!(end > start)) return doc;
  if (doc.spans.some((s) => s.start === start && s.end === end && s.label === label)) return doc;
  const spans = [...doc.spans, { start, end, label }].sort((a, b) => a.start - b.start || a.end - b.end);
  return { ...doc, spans };
}

export function updateSpan(doc, index, changes) {
  if (index < 0 || index >= doc.spans.length) return doc;
  const spans = doc.spans.slice();
  spans[index] = { ...spans[index], ...changes };
  return { ...doc, spans };
}

export function removeSpan(doc, index) {
  return { ...doc, spans: doc.spans.filter((_, i) => i !== index) };
}

// Code points, not UTF-16 units: the API counts spans in code points ("𝒳" is one, not two).
export function codePointOffset(text, utf16Index) {
  return Array.from(text.slice(0, utf16Index)).length;
}

export function utf16Offset(text, codePoints) {
  return Array.from(text).slice(0, codePoints).join("").length;
}

// The text cut into runs at every span boundary, each run with the indices of the spans covering it (to draw
// overlapping spans as nested marks without HTML).
export function spanRuns(text, spans) {
  const chars = Array.from(text);
  const cuts = new Set([0, chars.length]);
  for (const span of spans) {
    cuts.add(Math.max(0, Math.min(chars.length, span.start)));
    cuts.add(Math.max(0, Math.min(chars.length, span.end)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const runs = [];
  for (let i = 0; i < points.length - 1; i += 1) {
    const [start, end] = [points[i], points[i + 1]];
    if (end <= start) continue;
    const covering = [];
    spans.forEach((span, index) => { if (span.start <= start && span.end >= end) covering.push(index); });
    runs.push({ start, end, text: chars.slice(start, end).join(""), spans: covering });
  }
  return runs;
}

// Server errors such as {"result.objects.2.label": [...]} grouped by what caused them: the object or span at
// that index, the whole-item labels, or the answer as a whole.
export function errorsByPart(errors) {
  const out = { objects: {}, spans: {}, labels: [], general: [] };
  for (const [field, messages] of Object.entries(errors || {})) {
    const text = [].concat(messages).join(" ");
    const match = /^result\.(objects|spans)\.(\d+)/.exec(field);
    if (match) {
      const bucket = out[match[1]];
      bucket[match[2]] = [...(bucket[match[2]] || []), text];
    } else if (field.startsWith("result.labels")) {
      out.labels.push(text);
    } else {
      out.general.push(`${field}: ${text}`);
    }
  }
  return out;
}

// Drafts: saved per assignment, restored only for the same assignment (another task's draft is never shown).
// An answer the API holds (a result) as a document to edit again: the inverse of toResult.
export function fromResult(result) {
  const given = result || {};
  return {
    labels: Array.isArray(given.labels) ? [...given.labels] : [],
    objects: Array.isArray(given.objects) ? given.objects.map((object) => ({ attributes: {}, ...object })) : [],
    spans: Array.isArray(given.spans) ? given.spans.map(({ start, end, label }) => ({ start, end, label })) : [],
  };
}

export function draftKey(assignmentId) {
  return `annotator.draft.${assignmentId}`;
}

export function readDraft(raw) {
  try {
    const parsed = JSON.parse(raw);
    if (!parsed || !Array.isArray(parsed.objects) || !Array.isArray(parsed.labels) || !Array.isArray(parsed.spans)) {
      return null;
    }
    return { labels: parsed.labels, objects: parsed.objects, spans: parsed.spans };
  } catch {
    return null;
  }
}
