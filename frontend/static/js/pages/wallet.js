// Your wallet: available, pending and lifetime earnings, every entry with why, a payout request, and the
// leaderboards of the projects you label.
import { api, once } from "../lib/api.js";
import { toMinor } from "../lib/project_form.js";
import { currencyDigits, formatDate, formatMoney, formatPercent, t } from "../lib/i18n.js";
import { explainEntries } from "../lib/ledger_words.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";
import { labelChoices } from "../annotate/workspace.js";

await startPage();
const $ = (id) => document.getElementById(id);
let currency = "CNY";

async function load() {
  const [wallet, entries, projects] = await Promise.all([api.get("/api/v1/wallet"),
    api.get("/api/v1/wallet/entries?per_page=100"), api.get("/api/v1/projects?per_page=100").catch(() => ({ items: [] }))]);
  // Each project's label paths, so a line about a mislabelled box names its labels as the project does.
  const paths = new Map(projects.items.map((p) => [p.id, new Map(labelChoices(p.label_schema || {}).map((c) => [c.id, c.path]))]));
  currency = wallet.currency;
  $("balance").textContent = formatMoney(wallet.balance, currency);
  $("balance").dataset.amount = String(wallet.balance);
  $("pending-amount").textContent = formatMoney(wallet.pending, currency);
  $("pending-amount").dataset.amount = String(wallet.pending);
  $("in-flight").textContent = formatMoney(wallet.in_flight, currency);
  $("lifetime").textContent = formatMoney(wallet.lifetime_earned, currency);
  const words = explainEntries(entries.items, currency, (id) => paths.get(id));
  $("entries").replaceChildren(...entries.items.map((entry, n) => {
    const row = document.createElement("tr");
    row.dataset.transactionId = String(entry.transaction_id);
    cell(row, formatDate(entry.created_at));
    cell(row, words[n]);
    row.lastChild.title = entry.memo || "";
    cell(row, t(`wallet.account.${entry.account}`), "muted");
    cell(row, formatMoney(entry.amount, currency), `num ${entry.amount < 0 ? "error" : ""}`);
    return row;
  }));
  $("no-entries").hidden = entries.items.length > 0;
}

async function leaderboards() {
  const projects = await api.get("/api/v1/projects?per_page=100");
  const host = $("leaderboards");
  for (const project of projects.items.filter((p) => p.rewards && p.rewards.per_annotation)) {
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
      cell(row, String(leader.rank), "num");
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
    await load();
  } catch (error) {
    showError($("payout-error"), error);
  } finally {
    button.disabled = false;
  }
});

try {
  await load();
  await leaderboards();
} catch (error) {
  showError($("wallet-error"), error);
}
