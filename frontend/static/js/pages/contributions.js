// Your contributions: every dataset release you hold a share in (newest first), with its project, when it was
// made, your share as an exact percentage (its parts of 100,000,000 on hover), the answers and fixes it counted,
// what its revenue has paid you, and why a share is 0. With none, what contribution shares are.
import { api } from "../lib/api.js";
import { formatDate, formatMoney, formatNumber, t } from "../lib/i18n.js";
import { reasonWords, shareParts, sharePercent } from "../lib/contributions.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);

function row(item, currency) {
  const tr = document.createElement("tr");
  tr.dataset.releaseId = String(item.release_id);
  cell(tr, item.project_name);
  cell(tr, item.name, "release-name");
  cell(tr, formatDate(item.created_at, { dateStyle: "medium" }), "when");
  const share = cell(tr, "", "num share");
  const figure = document.createElement("abbr");
  figure.textContent = sharePercent(item.share, item.share_scale);
  figure.title = shareParts(item.share, item.share_scale);
  share.append(figure);
  share.dataset.share = String(item.share);
  if (item.share === 0 && item.reason) {
    const why = document.createElement("div");
    why.className = "muted small reason";
    why.dataset.reason = item.reason;
    why.textContent = reasonWords(item.reason);
    share.append(why);
  }
  cell(tr, formatNumber(item.answers), "num");
  cell(tr, formatNumber(item.fixes), "num");
  cell(tr, formatMoney(item.earned, currency), "num earned").dataset.amount = String(item.earned);
  return tr;
}

try {
  const [mine, wallet] = await Promise.all([api.get("/api/v1/me/contributions"),
    api.get("/api/v1/wallet").catch(() => ({ currency: "CNY" }))]);
  const items = mine.items;
  $("contributions").replaceChildren(...items.map((item) => row(item, wallet.currency)));
  $("release-count").textContent = formatNumber(items.length);
  const earned = items.reduce((sum, item) => sum + item.earned, 0);
  $("earned-all").textContent = formatMoney(earned, wallet.currency);
  $("earned-all").dataset.amount = String(earned);
  $("contrib-body").hidden = items.length === 0;
  $("no-contributions").hidden = items.length > 0;
} catch (error) {
  showError($("contrib-error"), error);
}
$("contributions-page").dataset.state = "ready";
