// The administrators' desk, in three tabs: Money (deposits to confirm: money that arrived funds a budget; payouts
// to approve or reject, by name and amount; the ledger's check), Users (admin/users.js) and the Audit log
// (admin/audit.js). A tab's list is loaded each time it is shown.
import { api } from "../lib/api.js";
import { formatDate, formatMoney, t } from "../lib/i18n.js";
import { startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";
import { startTabs } from "../components/tabs.js";
import * as users from "./admin/users.js";
import * as audit from "./admin/audit.js";

const me = await startPage();
const $ = (id) => document.getElementById(id);
let currency = "CNY";

function fail(error) {
  $("admin-error").textContent = error.message;
  $("admin-error").hidden = false;
}

const person = (user) => (user ? `${user.display_name} <${user.email}>` : "—");

// A row with its decision buttons; a decision reloads both lists (one of them may have changed under us).
function decisionRow(id, cells, actions) {
  const row = document.createElement("tr");
  row.dataset.id = String(id);
  for (const [text, className] of cells) cell(row, text, className);
  const td = document.createElement("td");
  for (const [verb, path, danger] of actions) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = danger ? "link danger" : "link";
    button.dataset.action = verb;
    button.textContent = t(`admin.${verb}`);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api.post(path);
      } catch (error) {
        fail(error);
      }
      await load().catch(fail);
    });
    td.append(button, " ");
  }
  row.append(td);
  return row;
}

async function load() {
  const [deposits, payouts] = await Promise.all([api.get("/api/v1/admin/deposits?status=pending&per_page=100"),
    api.get("/api/v1/admin/payouts?status=pending&per_page=100")]);
  $("deposits").replaceChildren(...deposits.items.map((d) => decisionRow(d.id,
    [[d.project_name || `#${d.project_id}`], [person(d.user)], [formatMoney(d.amount, currency), "num"], [formatDate(d.created_at)]],
    [["confirm", `/api/v1/deposits/${d.id}/confirm`], ["reject", `/api/v1/deposits/${d.id}/reject`, true]])));
  $("no-deposits").hidden = deposits.items.length > 0;
  $("payouts").replaceChildren(...payouts.items.map((p) => decisionRow(p.id,
    [[person(p.user)], [formatMoney(p.amount, p.currency || currency), "num"], [formatDate(p.created_at)]],
    [["approve", `/api/v1/payouts/${p.id}/approve`], ["reject", `/api/v1/payouts/${p.id}/reject`, true]])));
  $("no-payouts").hidden = payouts.items.length > 0;
}

$("verify").addEventListener("click", async () => {
  try {
    const found = await api.get("/api/v1/admin/ledger/verify");
    $("verify-result").textContent = found.ok ? t("admin.ledgerOk") : found.breaches.join("\n");
    $("verify-result").className = found.ok ? "muted" : "error";
  } catch (error) {
    fail(error);
  }
});

try {
  currency = (await api.get("/api/v1/wallet")).currency;
} catch { /* the default */ }
users.startUsers(me, fail);
audit.startAudit(fail);
const loaders = { money: load, users: users.load, audit: audit.load };
startTabs(document.querySelector("[role=tablist]"), (name) => {
  $("admin-error").hidden = true;
  loaders[name]().catch(fail);
});
