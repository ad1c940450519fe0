// For owners and managers: the review queue in numbers, why its items were picked, the policy, and each reviewer
// measured (verdicts, appeals against their rejections, agreement with gold, median time per review).
import { api } from "../../lib/api.js";
import { formatMoney, formatNumber, t } from "../../lib/i18n.js";
import { formatShare } from "../../lib/quality.js";
import { reviewerFigures } from "../../lib/review.js";
import { cell } from "../../components/table.js";
import { $, element } from "./dom.js";

export async function loadNumbers(rv) {
  const summary = await api.get(`/api/v1/projects/${rv.projectId}/review`);
  const figures = [["queued", summary.queue.queued], ["leased", summary.queue.leased], ["done", summary.queue.done],
    ["passed", summary.queue.passed], ["openAppeals", summary.open_appeals]];
  $("queue-figures").replaceChildren(...figures.map(([name, value]) => {
    const box = element("div");
    box.dataset.figure = name;
    box.append(element("dt", "", t(`rv.q.${name}`)), element("dd", "", formatNumber(value || 0)));
    return box;
  }));
  const reasons = Object.entries(summary.reasons || {}).filter(([, count]) => count);
  $("reason-counts").textContent = reasons.length ? t("rv.reasons", { reasons: reasons.map(([reason, count]) =>
    `${t(`rv.reason.${reason}`)} (${formatNumber(count)})`).join(" · ") }) : "";
  $("policy-line").textContent = policyWords(summary.policy, rv.currency);
  $("reviewer-rows").replaceChildren(...summary.reviewers.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.userId = String(row.user ? row.user.id : "");
    cell(tr, row.user ? row.user.display_name : "—");
    const shown = reviewerFigures(row);
    for (const value of shown.numbers) cell(tr, value, "num");
    cell(tr, shown.gold, "num").title = shown.goldTitle;
    cell(tr, shown.median, "num");
    return tr;
  }));
  $("no-reviewers").hidden = summary.reviewers.length > 0;
  document.querySelector("table.reviewers").hidden = summary.reviewers.length === 0;
  $("numbers-section").hidden = false;
}

function policyWords(policy, currency) {
  if (!policy) return t("rv.noPolicy");
  const parts = [];
  if (policy.sample_rate) parts.push(t("rv.p.sample", { share: formatShare(policy.sample_rate) }));
  if (policy.below_agreement !== null && policy.below_agreement !== undefined) {
    parts.push(t("rv.p.below", { share: formatShare(policy.below_agreement) }));
  }
  if (policy.gold_failures) parts.push(t("rv.p.gold"));
  if (policy.first_answers) parts.push(t("rv.p.first", { count: policy.first_answers }));
  parts.push(t("rv.p.appeal", { days: policy.appeal_days }));
  if (policy.reviewer_pay) parts.push(t("rv.p.pay", { amount: formatMoney(policy.reviewer_pay, currency) }));
  return `${t("rv.p.policy")} ${parts.join(" · ")}`;
}
