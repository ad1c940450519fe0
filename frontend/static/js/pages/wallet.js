// Your wallet: balances and a payout request; your history, one row per task (its project, its item, what
// happened, the net) or per payout, each opening on its ledger lines, filtered by project and kind with the
// filter's totals; the spending of the projects you own; the leaderboards of the projects you label.
import { api, once } from "../lib/api.js";
import { toMinor } from "../lib/project_form.js";
import { currencyDigits, formatDate, formatMoney, formatNumber, formatPercent, t } from "../lib/i18n.js";
import { accountMoves, explainEntries, explainGroup, groupItem, signedMoney } from "../lib/ledger_words.js";
import { queryString } from "../lib/paging.js";
import { showError, startPage } from "../components/chrome.js";
import { showPager, startPager } from "../components/pager.js";
import { cell } from "../components/table.js";
import { labelChoices } from "../annotate/workspace.js";

await startPage();
const $ = (id) => document.getElementById(id);
const PER_PAGE = 20;
let currency = "CNY";
let labelPaths = new Map(); // project id -> (label id -> "Bird › Warbler"), to name mislabelled objects
const filters = fromAddress();
let spendingPage = 1;

// The history's filters and page, kept in the address so a reload or a shared link shows the same rows.
function fromAddress() {
  const params = new URLSearchParams(window.location.search);
  const known = (select, value) => ([...select.options].some((option) => option.value === value) ? value : "");
  return { project_id: params.get("project_id") || "", kind: known($("filter-kind"), params.get("kind") || ""),
    page: Math.max(1, Math.floor(Number(params.get("page"))) || 1) };
}

function small(parent, text) {
  const line = document.createElement("div");
  line.className = "muted small";
  line.textContent = text;
  parent.append(line);
}

async function balances() {
  const wallet = await api.get("/api/v1/wallet");
  currency = wallet.currency;
  for (const [id, amount] of [["balance", wallet.balance], ["pending-amount", wallet.pending],
    ["in-flight", wallet.in_flight], ["lifetime", wallet.lifetime_earned]]) {
    $(id).textContent = formatMoney(amount, currency);
    $(id).dataset.amount = String(amount);
  }
}

async function history() {
  const shown = { ...filters, per_page: PER_PAGE };
  const answer = await api.get(`/api/v1/wallet/tasks?${queryString(shown)}`);
  if (!answer.items.length && answer.total > 0 && filters.page > 1) {
    filters.page = 1; // past the last page (fewer rows since the link was made)
    return history();
  }
  chooseProjects(answer.projects);
  $("entries").replaceChildren(...answer.items.flatMap(groupRows));
  const filtered = Boolean(filters.project_id || filters.kind);
  document.querySelector("table.history").hidden = answer.total === 0;
  $("no-entries").hidden = answer.total > 0 || filtered;
  $("no-matches").hidden = answer.total > 0 || !filtered;
  const sums = answer.totals;
  $("history-totals").textContent = answer.total === 0 ? "" : t("wallet.totals", { count: answer.total,
    net: signedMoney(sums.net, currency), available: signedMoney(sums.wallet_available, currency),
    pending: signedMoney(sums.wallet_pending, currency), inFlight: signedMoney(sums.payouts_in_flight, currency) });
  showPager($("history-pager"), answer);
  const address = queryString({ ...filters, page: filters.page > 1 ? filters.page : "" });
  window.history.replaceState(null, "", address ? `?${address}` : window.location.pathname);
  $("entries").dataset.state = "ready";
}

// The project filter offers the projects your wallet has lines from.
function chooseProjects(projects) {
  const select = $("filter-project");
  select.replaceChildren(select.options[0], ...projects.map((project) => {
    const option = document.createElement("option");
    option.value = String(project.id);
    option.textContent = project.name;
    return option;
  }));
  select.value = filters.project_id;
  if (select.value !== filters.project_id) select.value = ""; // a project you have no lines in: none shown
  $("filter-kind").value = filters.kind;
}

// A task's (or a payout's) row, and the hidden row under it with its ledger lines.
function groupRows(group) {
  const row = document.createElement("tr");
  row.className = "group";
  row.dataset.key = group.key;
  small(cell(row, formatDate(group.last_at, { dateStyle: "medium" }), "when"), formatDate(group.last_at, { timeStyle: "short" }));
  cell(row, group.project_name || "—", group.project_name ? "" : "muted");
  const item = groupItem(group);
  const itemCell = cell(row, item.name || "—", item.name ? "item" : "muted");
  if (item.about && item.about !== item.name) small(itemCell, item.about);
  cell(row, explainGroup(group, currency, labelPaths.get(group.project_id)));
  const net = cell(row, signedMoney(group.net, currency), `num ${group.net < 0 ? "error" : ""}`);
  net.dataset.amount = String(group.net);
  const moves = accountMoves(group.amounts, currency);
  if (group.net === 0 || moves.length > 1) moves.forEach((move) => small(net, move)); // what the net hides
  const lines = linesRow(group);
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "link toggle";
  toggle.textContent = t("wallet.lines", { count: group.lines.length });
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", lines.id);
  toggle.addEventListener("click", () => {
    lines.hidden = !lines.hidden;
    toggle.setAttribute("aria-expanded", String(!lines.hidden));
  });
  const toggleCell = document.createElement("td");
  toggleCell.append(toggle);
  row.append(toggleCell);
  return [row, lines];
}

function linesRow(group) {
  const holder = document.createElement("tr");
  holder.className = "lines";
  holder.id = `lines-${group.key.replace(":", "-")}`;
  holder.hidden = true;
  const td = document.createElement("td");
  td.colSpan = 6;
  const table = document.createElement("table");
  table.className = "data nested";
  const words = explainEntries(group.lines, currency, (id) => labelPaths.get(id));
  table.append(...group.lines.map((line, n) => {
    const row = document.createElement("tr");
    row.dataset.transactionId = String(line.transaction_id);
    cell(row, formatDate(line.created_at), "muted");
    cell(row, words[n]).title = line.memo || "";
    cell(row, t(`wallet.account.${line.account}`), "muted");
    cell(row, signedMoney(line.amount, currency), `num ${line.amount < 0 ? "error" : ""}`);
    return row;
  }));
  td.append(table);
  holder.append(td);
  return holder;
}

async function spending() {
  const answer = await api.get(`/api/v1/wallet/spending?${queryString({ page: spendingPage, per_page: PER_PAGE })}`);
  $("spending").hidden = answer.total === 0; // you own no project
  $("spending-rows").replaceChildren(...answer.items.map((project) => spendingRow(project, project.project_name)));
  $("spending-totals").replaceChildren(...(answer.total > 1 ? [spendingRow(answer.totals, t("wallet.allYourProjects"))] : []));
  showPager($("spending-pager"), answer);
}

function spendingRow(figures, name) {
  const row = document.createElement("tr");
  const named = cell(row, "");
  if (figures.project_id) {
    row.dataset.projectId = String(figures.project_id);
    const link = document.createElement("a");
    link.href = `/projects/${figures.project_id}/settings#deposit-form`;
    link.textContent = name;
    named.append(link);
  } else {
    named.textContent = name;
    named.className = "total";
  }
  const money = (field) => {
    const td = cell(row, formatMoney(figures[field], currency), "num");
    td.dataset.field = field;
    td.dataset.amount = String(figures[field]);
    return td;
  };
  money("deposited");
  money("fees");
  const spent = money("spent");
  if (figures.awaiting_settlement) { // some of it still waits for its tasks: say how much
    small(spent, t("wallet.spentSplit", { settled: formatMoney(figures.settled, currency),
      awaiting: formatMoney(figures.awaiting_settlement, currency) }));
  }
  money("reserved");
  money("balance");
  money("awaiting_confirmation");
  return row;
}

async function leaderboards(projects) {
  const host = $("leaderboards");
  for (const project of projects.filter((p) => p.rewards && p.rewards.per_annotation)) {
    let board;
    try {
      board = await api.get(`/api/v1/projects/${project.id}/leaderboard?per_page=10`);
    } catch {
      continue; // not visible to you
    }
    if (!board.items.length) continue;
    const heading = document.createElement("h2");
    heading.textContent = `${project.name}`;
    const table = document.createElement("table");
    table.className = "data leaderboard";
    const head = document.createElement("tr");
    for (const key of ["wallet.rank", "q.annotator", "wallet.earned", "q.agreementWithConsensus"]) {
      const th = document.createElement("th");
      th.textContent = t(key);
      head.append(th);
    }
    table.append(head);
    for (const leader of board.items) {
      const row = document.createElement("tr");
      cell(row, formatNumber(leader.rank), "num");
      cell(row, leader.display_name);
      cell(row, formatMoney(leader.earned, currency), "num");
      cell(row, leader.agreement_with_consensus == null ? "—" : formatPercent(leader.agreement_with_consensus), "num");
      table.append(row);
    }
    host.append(heading, table);
  }
  host.dataset.state = "ready";
}

// Amounts are typed in the currency's units ("12.50") and sent in minor units.
const requestPayout = once("payout"); // a retry or a double click pays out once
$("payout-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("payout-form").querySelector("button[type=submit]");
  if (button.disabled) return;
  button.disabled = true;
  $("payout-error").hidden = true;
  $("payout-message").textContent = "";
  const raw = new FormData($("payout-form")).get("amount");
  try {
    // In minor units; what is not an amount goes as typed, and the API says why it is refused.
    await requestPayout("/api/v1/payouts", { amount: toMinor(raw, currencyDigits(currency)) ?? raw });
    $("payout-message").textContent = t("wallet.requested");
    $("payout-form").reset();
    await Promise.all([balances(), history()]);
  } catch (error) {
    showError($("payout-error"), error);
  } finally {
    button.disabled = false;
  }
});

const reload = (what) => what().catch((error) => showError($("wallet-error"), error));
$("history-filters").addEventListener("change", (event) => {
  filters[event.target.name] = event.target.value;
  filters.page = 1;
  reload(history);
});
$("history-filters").addEventListener("submit", (event) => event.preventDefault());
$("clear-filters").addEventListener("click", () => {
  Object.assign(filters, { project_id: "", kind: "", page: 1 });
  reload(history);
});
startPager($("history-pager"), (step) => {
  filters.page += step;
  reload(history);
});
startPager($("spending-pager"), (step) => {
  spendingPage += step;
  reload(spending);
});

try {
  const [projects] = await Promise.all([api.get("/api/v1/projects?per_page=100").catch(() => ({ items: [] })), balances()]);
  // Each project's label paths, so a line about a mislabelled box names its labels as the project does.
  labelPaths = new Map(projects.items.map((p) => [p.id, new Map(labelChoices(p.label_schema || {}).map((c) => [c.id, c.path]))]));
  await Promise.all([history(), spending()]);
  await leaderboards(projects.items);
} catch (error) {
  showError($("wallet-error"), error);
}
