// Previous / next buttons under a paged table, with "Page 2 of 5 · 120 in all" between them.
import { formatNumber, t } from "../lib/i18n.js";
import { pages } from "../lib/paging.js";

// Wire the pager `nav` (buttons with data-step -1 and 1, a span between): `go(step)` runs on a click.
export function startPager(nav, go) {
  for (const button of nav.querySelectorAll("button[data-step]")) {
    button.addEventListener("click", () => go(Number(button.dataset.step)));
  }
}

// Show where a paged answer ({page, per_page, total}) is; the pager hides when everything fits on one page.
export function showPager(nav, answer) {
  const at = pages(answer);
  nav.hidden = at.count === 1;
  nav.querySelector("span").textContent = t("admin.pageOf", {
    page: formatNumber(at.page), pages: formatNumber(at.count), total: formatNumber(at.total) });
  nav.querySelector("button[data-step='-1']").disabled = !at.hasPrevious;
  nav.querySelector("button[data-step='1']").disabled = !at.hasNext;
}
