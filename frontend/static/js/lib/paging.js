// Paged lists: which pages exist and which way one can go. DOM-free (node tests it).

// The page numbers of a paged answer ({page, per_page, total}): at least one page, even when empty.
export function pages({ page, per_page: perPage, total }) {
  const count = Math.max(1, Math.ceil(total / perPage));
  return { page, count, total, hasPrevious: page > 1, hasNext: page < count };
}

// A list's query string from its filled-in fields ("" and null left out): the task browser's, for every page.
export { filterQuery as queryString } from "./task_view.js";
