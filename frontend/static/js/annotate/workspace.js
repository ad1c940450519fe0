// The labelling workspace's logic, free of the DOM so node can test it.
import { labelName } from "./taxonomy.js";

// The label tree as a flat list in depth-first order, each with its name in the reader's language (`lang`,
// the UI language by default; see labelName) and its path of such names ("Birds › Warblers › Yellow").
export function labelChoices(schema, lang) {
  const choices = [];
  const walk = (nodes, trail) => {
    for (const node of nodes || []) {
      const name = labelName(node, lang); // undefined: labelName's default, the UI language
      const path = [...trail, name];
      choices.push({ id: node.id, name, path: path.join(" › "), depth: trail.length });
      walk(node.children, path);
    }
  };
  walk(schema.labels, []);
  return choices;
}

// Choosing a label: with multi_label it toggles, otherwise it replaces the choice (or clears it).
export function toggleLabel(selected, id, multiLabel) {
  if (selected.includes(id)) return selected.filter((x) => x !== id);
  return multiLabel ? [...selected, id] : [id];
}

// "4:05" left on the lease, or null once it has run out.
export function countdown(expiresAt, now) {
  const left = Math.floor((Date.parse(expiresAt) - now) / 1000);
  if (Number.isNaN(left) || left <= 0) return null;
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

// How often to renew a lease: a third of its length, at most a minute, at least five seconds.
export function heartbeatEvery(leaseSeconds) {
  return Math.max(5, Math.min(60, Math.floor(leaseSeconds / 3))) * 1000;
}

// Only our own media URLs are shown; anything else in task data stays text.
export function mediaUrl(data) {
  const src = data && data.image;
  return typeof src === "string" && /^\/media\/[0-9a-f]{64}$/.test(src) ? src : null;
}

// What the page can label: whole-item classification for now (drawing tools arrive with the full workspace).
export function supports(schema) {
  return (schema.tools || []).includes("classify");
}
