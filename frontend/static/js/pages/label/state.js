// The labelling page's state: ONE object, made here, that every module of the page takes as its first
// argument (`ws`). Nothing else on the page holds state. What is fixed once the project is loaded sits beside
// what changes per task; ws.render and ws.stage are set by the page once it has made them.
import { buildIndex, pushRecent } from "../../annotate/taxonomy.js";
import { createHistory } from "../../annotate/undo.js";
import { DEFAULT_BINDINGS, createKeymap, projectBindings } from "../../annotate/shortcuts.js";
import { emptyDocument, errorsByPart, resultParts } from "../../annotate/document.js";
import { mediaUrl } from "../../annotate/workspace.js";

const IMAGE_TOOLS = ["bbox", "polygon", "keypoint"];
const RECENT_COUNT = 9;

/**
 * @param {{me: {id: number}, projectId: number, project: object|null}} loaded project is null when it
 *   could not be loaded (the page then shows only the error)
 */
export function createState({ me, projectId, project }) {
  const schema = project ? project.label_schema : { labels: [], tools: [] };
  const index = buildIndex(schema.labels || []);
  const ws = {
    // The project, fixed once loaded.
    projectId,
    project,
    schema,
    parts: resultParts(schema), // which parts of an answer the tools allow
    index, // the taxonomy, searchable
    labelOrder: new Map(index.entries.map((entry, i) => [entry.id, i])), // for colours
    keymap: createKeymap(projectBindings(DEFAULT_BINDINGS, { tools: schema.tools, mediaType: project?.media_type })),
    recentKey: `annotator.recent.${projectId}.${me.id}`,
    // The task and its answer.
    lease: null, // {assignment, task}
    history: createHistory(emptyDocument()), // undo history; its present is the answer
    selected: -1, // object index
    selectedSpan: -1,
    tool: "select",
    currentLabel: null, // the label new objects get
    image: null, // the decoded image of an image task
    shownAt: 0, // when the task was shown (performance.now())
    leadTime: null, // fixed at the first submit attempt: a retry must send the same body (Idempotency-Key)
    busy: false, // an answer is on its way
    errors: errorsByPart({}), // the server's words about the answer
    // The label picker.
    recent: [], // the nine labels on keys 1-9
    results: [], // label search results
    active: 0, // highlighted result
    // The rest of the page.
    wallet: null,
    beat: null, // the lease heartbeat's interval
    draftTimer: null,
    stage: null, // the image stage (annotate/stage.js)
    render: () => {}, // redraws every panel from this state
  };
  ws.recent = loadRecent(ws);
  return ws;
}

/** The answer as it stands. */
export const doc = (ws) => ws.history.present;
export const imageTools = (ws) => (ws.schema.tools || []).filter((tool) => IMAGE_TOOLS.includes(tool));
export const isImage = (ws) => Boolean(ws.lease && mediaUrl(ws.lease.task.data));

export function labelName(ws, id) {
  const entry = ws.index.byId.get(id);
  return entry ? entry.name : id;
}

export function labelPath(ws, id) {
  const entry = ws.index.byId.get(id);
  return entry ? entry.pathText : id;
}

/** The labels this browser saw the user choose in the project, most recent first (none until one is chosen). */
function loadRecent(ws) {
  let saved = [];
  try { saved = JSON.parse(localStorage.getItem(ws.recentKey) || "[]"); } catch { saved = []; }
  return knownRecent(saved, ws.index, RECENT_COUNT);
}

/** The saved recent ids still in the taxonomy, in their order, at most `count`; nothing else fills the list. */
export function knownRecent(saved, index, count = RECENT_COUNT) {
  return (Array.isArray(saved) ? saved : []).filter((id) => index.byId.has(id)).slice(0, count);
}

export function remember(ws, id) {
  ws.recent = pushRecent(ws.recent, id, RECENT_COUNT);
  try { localStorage.setItem(ws.recentKey, JSON.stringify(ws.recent)); } catch { /* private mode */ }
}
