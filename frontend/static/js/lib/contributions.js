// Data contribution in numbers and words (issue 24): a release's shares (integer parts of a scale, 100,000,000
// for every release so far) as exact percentages, why a share is 0, what a release's revenue paid each
// contributor, and where the API's refusals of a new release belong on its form. DOM-free: node tests it.
import { formatDate, formatNumber, t } from "./i18n.js";

export const SHARE_SCALE = 100_000_000;
const MOST_DIGITS = 6; // what a share of 100,000,000 needs to be shown exactly as a percentage

/** A share of `scale` as a percentage, exactly when the scale is a power of ten of at least 100 (the API's
 * 100,000,000: 33,333,334 -> "33.333334%", 50,000,000 -> "50%", 1 -> "0.000001%"), otherwise rounded half up to
 * six decimals; trailing zeros dropped. Integer arithmetic only: no float ever rounds a share. */
export function sharePercent(share, scale = SHARE_SCALE) {
  if (!Number.isSafeInteger(share) || !Number.isSafeInteger(scale) || share < 0 || scale <= 0) return "—";
  const power = /^10*$/.test(String(scale)) ? String(scale).length - 1 : -1;
  const digits = power >= 2 ? Math.min(power - 2, 12) : MOST_DIGITS;
  // share * 100 * 10^digits / scale, rounded half up, in BigInt (a share times 10^8 passes 2^53).
  const unit = 10n ** BigInt(digits);
  const numerator = BigInt(share) * 100n * unit;
  const big = BigInt(scale);
  let whole = numerator / big;
  if ((numerator % big) * 2n >= big) whole += 1n;
  const integer = whole / unit;
  const fraction = digits ? (whole % unit).toString().padStart(digits, "0").replace(/0+$/, "") : "";
  return `${integer}${fraction ? `.${fraction}` : ""}%`;
}

/** The exact share in words, for a title: "33,333,334 of 100,000,000 parts". */
export function shareParts(share, scale = SHARE_SCALE) {
  return t("contrib.parts", { share: formatNumber(share), scale: formatNumber(scale) });
}

/** Why a share is 0, in words ("" for a share that is not 0 or a reason this does not know). */
export function reasonWords(reason) {
  if (!reason) return "";
  const key = `contrib.reason.${reason}`;
  const words = t(key);
  return words === key ? reason : words;
}

/** What a release's revenue history paid: per contributor (user id -> minor units), the platform's fees and
 * the amounts, in all. */
export function paidTotals(revenues) {
  const paid = new Map();
  let fees = 0;
  let amount = 0;
  for (const revenue of revenues || []) {
    fees += revenue.fee;
    amount += revenue.amount;
    for (const part of revenue.paid || []) paid.set(part.user_id, (paid.get(part.user_id) || 0) + part.amount);
  }
  return { paid, fees, amount };
}

/** An export as a choice for a release: "#12 · jsonl · consensus only · 3 Jun 2025, 14:02 · 2 KB". */
export function exportChoice(item) {
  const size = `${formatNumber(Math.max(1, Math.round((item.size_bytes || 0) / 1024)))} KB`;
  return [`#${item.id}`, item.format, t(`dash.include.${item.include}`), formatDate(item.created_at), size].join(" · ");
}

/** The API's refusal of a new release (a problem body) as messages by field of the form: {export_id, name,
 * general}. A 422 names its fields; a 404 is about the export (another project's, or gone); a 409 is about the
 * name when it is one of the project's releases (`taken`), else about the export (not completed, or the data
 * changed since it was made). */
export function releaseErrors(problem, typedName, taken = []) {
  const found = { export_id: "", name: "", general: "" };
  if (!problem) return found;
  const fields = Object.entries(problem.errors || {});
  if (problem.status === 422 && fields.length) {
    for (const [field, messages] of fields) {
      const text = [].concat(messages).join(" ");
      if (field === "export_id" || field === "name") found[field] = text;
      else found.general = [found.general, `${field}: ${text}`].filter(Boolean).join("\n");
    }
    return found;
  }
  const detail = problem.detail || problem.title || `Error ${problem.status}`;
  if (problem.status === 404) found.export_id = detail;
  else if (problem.status === 409) found[taken.includes(String(typedName).trim()) ? "name" : "export_id"] = detail;
  else found.general = detail;
  return found;
}

/** Who a contributor is on the owner's pages: their display name, else their id. */
export function contributorName(row) {
  return (row.user && row.user.display_name) || `#${row.user_id}`;
}
