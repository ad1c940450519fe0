// The Admin page's Audit log tab: the latest entries a page at a time (who, what, to whom or what, in which
// project), with the whole log as CSV a click away.
import { api } from "../../lib/api.js";
import { formatDate, t } from "../../lib/i18n.js";
import { cell } from "../../components/table.js";
import { showPager, startPager } from "../../components/pager.js";

const $ = (id) => document.getElementById(id);
const PER_PAGE = 25;
let page = 1;

// A message if the page has one for `key`, else `fallback` (actions added later still show, by their code).
function known(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

function target(entry) {
  if (!entry.target || (entry.target === "project" && entry.target_id === entry.project_id)) return "";  // its column
  if (entry.target_email) return entry.target_email;
  const noun = known(`audit.target.${entry.target}`, entry.target);
  return entry.target_id === null ? noun : `${noun} #${entry.target_id}`;
}

function entryRow(entry) {
  const row = document.createElement("tr");
  row.dataset.action = entry.action;
  cell(row, formatDate(entry.created_at, { dateStyle: "short", timeStyle: "short" }), "when");
  cell(row, entry.actor_email || (entry.actor_id === null ? t("admin.system") : `#${entry.actor_id}`));
  cell(row, known(`audit.${entry.action}`, entry.action)).title = entry.action;
  cell(row, target(entry));
  cell(row, entry.project_id === null ? "" : entry.project_name || `#${entry.project_id}`);
  return row;
}

export async function load() {
  const answer = await api.get(`/api/v1/admin/audit?page=${page}&per_page=${PER_PAGE}`);
  $("audit").replaceChildren(...answer.items.map(entryRow));
  $("no-audit").hidden = answer.items.length > 0;
  showPager($("audit-pager"), answer);
}

export function startAudit(fail) {
  startPager($("audit-pager"), (step) => { page += step; load().catch(fail); });
}
