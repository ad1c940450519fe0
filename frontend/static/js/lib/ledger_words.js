// A wallet line in the reader's language, from its transaction's kind and numbers (the server's memo, in
// English, stays the fallback for kinds this does not know). DOM-free: node tests it.
import { formatMoney, formatPercent, t } from "./i18n.js";
import { objectFindings } from "./quality.js";

// `paths`: the entry's project's label paths (id -> "Bird › Warbler"), to name mislabelled objects.
export function explainEntry(entry, currency = "CNY", paths = new Map()) {
  const task = entry.task_id ?? "?";
  const score = entry.details && typeof entry.details.score === "number" ? formatPercent(entry.details.score) : null;
  switch (entry.kind) {
    case "credit":
      return t("ledger.credit", { task });
    case "bonus":
      return settledWords(entry, task, score) + objectsInWords(entry.details && entry.details.objects, paths);
    case "clawback":
      return t("ledger.clawback", { task });
    case "payout_request":
      return t("ledger.payoutRequest", { amount: formatMoney(Math.abs(entry.amount), currency) });
    case "payout":
      return t("ledger.payout");
    case "reversal":
      // A restore reverses a take-back and names its task; a rejected payout reverses a payout request (no task).
      return isRestore(entry) ? t("ledger.restored", { task }) : t("ledger.reversal");
    case "review_pay":
      return t("ledger.reviewPay");
    case "revenue":
      return revenueWords(entry);
    default:
      return entry.memo || entry.kind;
  }
}

// A reversal that gives back what a rejection took (an appeal overturned it): it reverses a take-back of an answer's
// pay, so it carries that answer's task; a payout's reversal has none.
export function isRestore(entry) {
  return entry.kind === "reversal" && entry.task_id !== null && entry.task_id !== undefined
    && Boolean(entry.details && entry.details.reverses);
}

// A dataset release's revenue: the release by name (the server's memo has it, as Python writes a string:
// "revenue of release 'Spring 2025': 975000 shared by 3 contributors ..."), else by number.
function revenueWords(entry) {
  const name = releaseNameFromMemo(entry.memo);
  const release = name !== null ? name : `#${(entry.details && entry.details.release_id) ?? "?"}`;
  return t("ledger.revenue", { release });
}

// The release's name in a revenue line's memo, or null: the memo quotes it as Python's repr does ('v1', or "it's"
// when the name has a single quote, backslashes and the quote escaped).
export function releaseNameFromMemo(memo) {
  const found = /^revenue of release (['"])((?:\\.|(?!\1)[^\\])*)\1: /.exec(String(memo || ""));
  return found ? found[2].replace(/\\(.)/g, "$1") : null;
}

// A settlement in words, naming the mechanism that priced it (agreement, the default, in the plain words).
function settledWords(entry, task, score) {
  const why = (entry.details && entry.details.mechanism) || {};
  if (score === null) return t("ledger.settledPlain", { task });
  switch (why.mechanism) {
    case "gold":
      return t("ledger.settledGold", { task, score, answers: why.gold_answers ?? 0 });
    case "peer_prediction":
      return t("ledger.settledPeer", { task, score, answers: why.scored ?? 0,
        mean: typeof why.mean === "number" ? why.mean.toFixed(2) : "—" });
    case "posterior":
      return t("ledger.settledPosterior", { task, score });
    default:
      return t("ledger.settled", { task, score });
  }
}

// A page of wallet lines (newest first) in words: a settlement is one transaction of several lines (the bonus,
// and the base pay leaving pending for available); the first says why, the others what they move.
// `pathsFor(projectId)`: that project's label paths.
export function explainEntries(entries, currency = "CNY", pathsFor = () => undefined) {
  return entries.map((entry, n) => {
    const earlier = n > 0 ? entries[n - 1] : null;
    const sameSettlement = entry.kind === "bonus" && earlier && entry.transaction_id !== undefined
      && earlier.transaction_id === entry.transaction_id;
    if (!sameSettlement) return explainEntry(entry, currency, pathsFor(entry.project_id));
    return t(entry.account === "wallet_pending" ? "ledger.baseLeaves" : "ledger.baseAvailable", { task: entry.task_id ?? "?" });
  });
}

// Geometry answers: per tool, how many of your objects matched the consensus, how well placed, and each one
// whose label earned less than full credit. E.g. " · Boxes: 2 of your 3 matched the 3 in the consensus, placed
// 91%; “Tree sparrow” where the consensus says “Yellow warbler” (50% credit)".
function objectsInWords(objects, paths) {
  return objectFindings(objects, paths).map((found) => {
    const short = (path) => String(path).split(" › ").pop();
    let words = t("ledger.objects", { tool: t(`pf.tool.${found.tool}`), matched: found.matched, drawn: found.drawn,
      consensus: found.consensus });
    if (found.localisation !== null) words += t("ledger.placed", { share: formatPercent(found.localisation) });
    for (const wrong of found.mislabelled) {
      words += t("ledger.mislabelled", { label: short(wrong.label), consensus: short(wrong.consensus),
        credit: formatPercent(wrong.credit) });
    }
    return t("ledger.separator") + words;
  }).join("");
}

// A wallet row (GET /wallet/tasks: one task's lines, or one payout's) in one sentence: a task by what happened
// last to its answer (restored by an appeal, taken back, settled, else its base pay waiting for the task), a payout
// or a review's pay as it says.
// `paths`: the row's project's label paths.
export function explainGroup(group, currency = "CNY", paths = new Map()) {
  const lines = group.lines || [];
  const find = (kind) => lines.find((line) => line.kind === kind);
  // What happened last to the answer's pay: given back by an appeal, taken back, settled, else credited.
  const lead = lines.find(isRestore) || find("clawback") || find("bonus") || find("credit")
    || lines.find((line) => line.account === "wallet_available") || lines[0];
  if (!lead) return "";
  if (lead.kind === "credit") return t("ledger.creditWaiting", { task: lead.task_id ?? "?" });
  return explainEntry(lead, currency, paths);
}

// A row's item: its preview (an image's file name, a text's first words) as the name, the task's number and
// external id beside it; for a payout, nothing.
export function groupItem(group) {
  const task = group.task;
  if (!task) return { name: "", about: "" };
  const number = t("wallet.taskNumber", { id: task.id });
  return { name: task.preview || number, about: [number, task.external_id].filter(Boolean).join(" · ") };
}

// What a row moved on each of your accounts, the ones it changed: ["available +¥0.70", "pending −¥0.50"].
export function accountMoves(amounts, currency = "CNY") {
  return ["wallet_available", "wallet_pending", "payouts_in_flight"]
    .filter((account) => amounts && amounts[account])
    .map((account) => `${t(`wallet.account.${account}`)} ${signedMoney(amounts[account], currency)}`);
}

// Money with its sign always shown: +¥0.70, −¥0.50.
export function signedMoney(minor, currency = "CNY") {
  return `${minor > 0 ? "+" : minor < 0 ? "−" : ""}${formatMoney(Math.abs(minor), currency)}`;
}
