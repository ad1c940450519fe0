// A wallet line in the reader's language, from its transaction's kind and numbers (the server's memo, in
// English, stays the fallback for kinds this does not know). DOM-free: node tests it.
import { formatMoney, formatPercent, t } from "./i18n.js";

export function explainEntry(entry, currency = "CNY") {
  const task = entry.task_id ?? "?";
  const score = entry.details && typeof entry.details.score === "number" ? formatPercent(entry.details.score) : null;
  switch (entry.kind) {
    case "credit":
      return t("ledger.credit", { task });
    case "bonus":
      return score === null ? t("ledger.settledPlain", { task }) : t("ledger.settled", { task, score });
    case "clawback":
      return t("ledger.clawback", { task });
    case "payout_request":
      return t("ledger.payoutRequest", { amount: formatMoney(Math.abs(entry.amount), currency) });
    case "payout":
      return t("ledger.payout");
    case "reversal":
      return t("ledger.reversal");
    default:
      return entry.memo || entry.kind;
  }
}
