// Undo/redo history of immutable document states. Every function returns a new history (or the same
// one when nothing changes) and never mutates its argument. DOM-free so node can test it.

/**
 * A fresh history.
 * `past` is oldest first; `future` has the next state to redo first; `lastKey` is the coalesce key of
 * the last commit (null when the next commit must start a new step).
 * @param {*} present the current document state
 * @param {{limit?: number}} [options] how many undo steps to keep (default 200)
 * @returns {{past: Array, present: *, future: Array, limit: number, lastKey: string|null}}
 */
export function createHistory(present, { limit = 200 } = {}) {
  if (!(limit >= 0)) throw new RangeError("The history limit must be a number >= 0.");
  return { past: [], present, future: [], limit, lastKey: null };
}

// The last `limit` items of a list.
function capped(list, limit) {
  return list.length > limit ? list.slice(list.length - limit) : list;
}

/**
 * Makes `next` the present. The old present becomes an undo step and the redo future is dropped.
 * When `coalesce` is a non-empty string equal to the previous commit's key, the previous step is
 * extended instead (a drag through many mouse moves is one undo). Committing the present itself (===)
 * returns the same history.
 * @param {object} history
 * @param {*} next
 * @param {{coalesce?: string}} [options]
 * @returns {object}
 */
export function commit(history, next, { coalesce } = {}) {
  if (next === history.present) return history;
  const key = typeof coalesce === "string" && coalesce !== "" ? coalesce : null;
  if (key !== null && key === history.lastKey) {
    return { ...history, present: next, future: [] };
  }
  return {
    ...history,
    past: capped([...history.past, history.present], history.limit),
    present: next,
    future: [],
    lastKey: key,
  };
}

/**
 * Steps back one state; the same history when there is nothing to undo. Ends any coalescing.
 * @param {object} history
 * @returns {object}
 */
export function undo(history) {
  if (history.past.length === 0) return history;
  return {
    ...history,
    past: history.past.slice(0, -1),
    present: history.past[history.past.length - 1],
    future: [history.present, ...history.future],
    lastKey: null,
  };
}

/**
 * Steps forward one undone state; the same history when there is nothing to redo. Ends any coalescing.
 * @param {object} history
 * @returns {object}
 */
export function redo(history) {
  if (history.future.length === 0) return history;
  return {
    ...history,
    past: capped([...history.past, history.present], history.limit),
    present: history.future[0],
    future: history.future.slice(1),
    lastKey: null,
  };
}

/** @param {object} history @returns {boolean} whether undo would change anything */
export function canUndo(history) {
  return history.past.length > 0;
}

/** @param {object} history @returns {boolean} whether redo would change anything */
export function canRedo(history) {
  return history.future.length > 0;
}

/**
 * The history with coalescing ended, so the next commit starts a new step (call it on mouseup).
 * @param {object} history
 * @returns {object} the same history when no key was set
 */
export function breakCoalescing(history) {
  return history.lastKey === null ? history : { ...history, lastKey: null };
}
