// A project's releases, for its owner: make one from a completed export (the API's refusals next to the field
// they are about), and per release its contributors' shares (display names, exact percentages, what each has been
// paid, why a share is 0), the dataset card's pseudonymous list, the revenue recorded (the platform's fee, each
// contributor's part) and a form to record more: one Idempotency-Key per form sent, kept when the same form is
// sent again after a dropped connection, so a retry or a double click records the money once.
import { api, ApiError, once } from "../lib/api.js";
import { currencyDigits, formatDate, formatMoney, formatNumber, t, translate } from "../lib/i18n.js";
import { toMinor } from "../lib/project_form.js";
import { contributorName, exportChoice, paidTotals, releaseErrors, shareParts, sharePercent } from "../lib/contributions.js";
import { showError, startPage } from "../components/chrome.js";
import { showPager, startPager } from "../components/pager.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);
const root = $("releases-page");
const projectId = Number(root.dataset.projectId);
const PER_PAGE = 10;
let currency = "CNY";
let page = 1;
let released = []; // this page's releases, to tell a name already taken from an export refused
const recorders = new Map(); // release id -> its form's once(): the key survives a re-render

const fail = (error) => showError($("releases-error"), error);
const problemOf = (error) => (error instanceof ApiError ? error.problem : null);

function percentCell(row, share, scale) {
  const td = cell(row, "", "num share");
  const figure = document.createElement("abbr");
  figure.textContent = sharePercent(share, scale);
  figure.title = shareParts(share, scale);
  td.append(figure);
  td.dataset.share = String(share);
  return td;
}

function money(row, amount, className = "num") {
  const td = cell(row, formatMoney(amount, currency), className);
  td.dataset.amount = String(amount);
  return td;
}

// ---- Making a release -------------------------------------------------------------------------------------

async function loadExports() {
  const found = await api.get(`/api/v1/projects/${projectId}/exports?per_page=100`);
  const completed = found.items.filter((item) => item.status === "completed");
  $("release-export").replaceChildren(...completed.map((item) => {
    const option = document.createElement("option");
    option.value = String(item.id);
    const names = released.filter((r) => r.export_id === item.id).map((r) => `“${r.name}”`);
    option.textContent = exportChoice(item) + (names.length ? ` · ${t("rel.releasedAs", { names: names.join(", ") })}` : "");
    return option;
  }));
  $("release-export").title = $("release-export").selectedOptions[0]?.textContent || "";
  $("make-release").hidden = completed.length === 0;
  $("no-exports").hidden = completed.length > 0;
}

function showReleaseErrors(found) {
  for (const [id, field, text] of [["export-error", "release-export", found.export_id], ["name-error", "release-name", found.name]]) {
    $(id).textContent = text || "";
    $(id).hidden = !text;
    $(field).setAttribute("aria-invalid", String(Boolean(text)));
  }
  $("release-general-error").textContent = found.general || "";
  $("release-general-error").hidden = !found.general;
}

$("release-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("release-submit");
  if (button.disabled) return;
  button.disabled = true;
  $("release-message").textContent = "";
  showReleaseErrors({});
  const name = $("release-name").value;
  try {
    const made = await api.post(`/api/v1/projects/${projectId}/releases`,
      { export_id: Number($("release-export").value), name: name.trim() });
    $("release-message").textContent = t("rel.made", { name: made.name });
    $("release-name").value = "";
    page = 1;
    await loadReleases();
    await loadExports();
  } catch (error) {
    const problem = problemOf(error);
    if (problem) showReleaseErrors(releaseErrors(problem, name, released.map((r) => r.name)));
    else showReleaseErrors({ general: t("rel.networkError") });
  } finally {
    button.disabled = false;
  }
});

// ---- The releases ---------------------------------------------------------------------------------------

async function revenueOf(releaseId) {
  const rows = [];
  for (let number = 1; ; number += 1) {
    const found = await api.get(`/api/v1/releases/${releaseId}/revenue?per_page=100&page=${number}`);
    rows.push(...found.items);
    if (found.items.length === 0 || rows.length >= found.total) return rows;
  }
}

async function loadReleases() {
  const found = await api.get(`/api/v1/projects/${projectId}/releases?per_page=${PER_PAGE}&page=${page}`);
  if (!found.items.length && found.total > 0 && page > 1) {
    page = 1;
    return loadReleases();
  }
  released = found.items;
  const revenues = await Promise.all(found.items.map((release) => revenueOf(release.id)));
  $("releases").replaceChildren(...found.items.map((release, n) => article(release, revenues[n])));
  $("no-releases").hidden = found.total > 0;
  showPager($("releases-pager"), found);
}

function article(release, revenues) {
  const fragment = $("release-template").content.cloneNode(true);
  translate(fragment);
  const box = fragment.querySelector("article");
  box.dataset.releaseId = String(release.id);
  fill(box, release, revenues);
  bindRevenueForm(box, release);
  return box;
}

// The release's head, figures, shares, card and revenue (again after revenue is recorded).
function fill(box, release, revenues) {
  const names = new Map(release.contributions.map((row) => [row.user_id, contributorName(row)]));
  const totals = paidTotals(revenues);
  const q = (selector) => box.querySelector(selector);
  q(".release-title").textContent = release.name;
  const sha = document.createElement("code");
  sha.textContent = `SHA-256 ${release.sha256.slice(0, 12)}…`;
  sha.title = release.sha256;
  q(".release-meta").replaceChildren([
    t("rel.releasedAt", { when: formatDate(release.created_at) }),
    release.terms_version ? t("rel.terms", { version: release.terms_version }) : t("rel.platformTerms"),
    release.licence ? t("rel.licence", { licence: release.licence }) : "",
    `${formatNumber(Math.max(1, Math.round(release.size_bytes / 1024)))} KB`,
  ].filter(Boolean).join(" · ") + " · ", sha);
  let paidOut = 0;
  totals.paid.forEach((amount) => { paidOut += amount; });
  for (const [figure, amount] of [["revenue", release.revenue], ["fees", totals.fees], ["paid", paidOut]]) {
    const dd = q(`[data-figure=${figure}]`);
    dd.textContent = formatMoney(amount, currency);
    dd.dataset.amount = String(amount);
  }
  q(".share-rows").replaceChildren(...release.contributions.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.userId = String(row.user_id);
    cell(tr, contributorName(row), "who");
    percentCell(tr, row.share, release.share_scale);
    cell(tr, formatNumber(row.answers), "num");
    cell(tr, formatNumber(row.fixes), "num");
    money(tr, totals.paid.get(row.user_id) || 0, "num paid");
    const note = cell(tr, row.reason ? t(`rel.reason.${row.reason}`) : "", "muted small reason");
    note.dataset.reason = row.reason || "";
    return tr;
  }));
  q(".card-rows").replaceChildren(...((release.card && release.card.contributors) || []).map((entry) => {
    const tr = document.createElement("tr");
    cell(tr, entry.contributor, "mono");
    percentCell(tr, entry.share, release.share_scale);
    return tr;
  }));
  q(".revenue-rows").replaceChildren(...revenues.map((revenue) => {
    const tr = document.createElement("tr");
    tr.dataset.revenueId = String(revenue.id);
    cell(tr, formatDate(revenue.created_at), "when");
    money(tr, revenue.amount, "num amount");
    money(tr, revenue.fee, "num fee");
    cell(tr, revenue.memo || "—", revenue.memo ? "memo" : "muted");
    const each = cell(tr, "", "paid-each small");
    for (const part of revenue.paid) {
      const line = document.createElement("div");
      line.dataset.userId = String(part.user_id);
      line.dataset.amount = String(part.amount);
      line.textContent = `${names.get(part.user_id) || `#${part.user_id}`}: ${formatMoney(part.amount, currency)}`;
      each.append(line);
    }
    return tr;
  }));
  q(".no-revenue").hidden = revenues.length > 0;
  q("table.revenue").hidden = revenues.length === 0;
}

function showRevenueErrors(box, errors, general) {
  for (const small of box.querySelectorAll("[data-error-for]")) {
    const text = errors[small.dataset.errorFor] || "";
    small.textContent = text;
    small.hidden = !text;
    box.querySelector(`.revenue-form [name=${small.dataset.errorFor}]`).setAttribute("aria-invalid", String(Boolean(text)));
  }
  const line = box.querySelector(".revenue-error");
  line.textContent = general || "";
  line.hidden = !general;
}

function bindRevenueForm(box, release) {
  if (!recorders.has(release.id)) recorders.set(release.id, once(`revenue-${release.id}`));
  const record = recorders.get(release.id);
  const form = box.querySelector(".revenue-form");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("input", (event) => {
    const small = box.querySelector(`[data-error-for="${event.target.name}"]`);
    if (small) small.hidden = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return; // a double click sends once
    button.disabled = true;
    box.querySelector(".revenue-message").textContent = "";
    showRevenueErrors(box, {}, "");
    const data = new FormData(form);
    const raw = String(data.get("amount") || "");
    try {
      // In minor units; what is not an amount goes as typed, and the API says why it is refused.
      const done = await record(`/api/v1/releases/${release.id}/revenue`,
        { amount: toMinor(raw, currencyDigits(currency)) ?? raw, memo: String(data.get("memo") || "").trim() });
      const paid = done.paid.reduce((sum, part) => sum + part.amount, 0);
      form.reset();
      const [fresh, revenues] = await Promise.all([api.get(`/api/v1/releases/${release.id}`), revenueOf(release.id)]);
      fill(box, fresh, revenues);
      box.querySelector(".revenue-message").textContent = t("rel.recorded", { amount: formatMoney(done.amount, currency),
        fee: formatMoney(done.fee, currency), paid: formatMoney(paid, currency), count: formatNumber(done.paid.length) });
      box.dataset.recorded = String(done.id);
    } catch (error) {
      const problem = problemOf(error);
      if (!problem) {
        showRevenueErrors(box, {}, t("rel.networkError")); // the same form sent again keeps its key
      } else {
        const errors = {};
        let general = "";
        for (const [field, messages] of Object.entries(problem.errors || {})) {
          if (field === "amount" || field === "memo") errors[field] = [].concat(messages).join(" ");
          else general = [general, `${field}: ${[].concat(messages).join(" ")}`].filter(Boolean).join("\n");
        }
        if (!Object.keys(errors).length && !general) general = error.message;
        showRevenueErrors(box, errors, general);
      }
    } finally {
      button.disabled = false;
    }
  });
}

// A field's message goes once the field is changed; the select's full text shows on hover.
$("release-name").addEventListener("input", () => { $("name-error").hidden = true; });
$("release-export").addEventListener("change", () => {
  $("export-error").hidden = true;
  $("release-export").title = $("release-export").selectedOptions[0]?.textContent || "";
});

startPager($("releases-pager"), (step) => {
  page += step;
  loadReleases().catch(fail);
});

try {
  const [project, wallet] = await Promise.all([api.get(`/api/v1/projects/${projectId}`),
    api.get("/api/v1/wallet").catch(() => ({ currency: "CNY" }))]);
  currency = wallet.currency;
  $("project-name").textContent = project.name;
  await loadReleases();
  await loadExports();
} catch (error) {
  fail(error);
}
root.dataset.state = "ready";
