// The review page's logic, free of the DOM so node can test it: its keys, which answers still wait for a
// verdict and where the keyboard goes next, why an item was picked, the review policy as the form's fields and
// back, a reviewer's figures, and an answer's review and appeal as its author sees them.
import { createKeymap, isTypingTarget, match } from "../annotate/shortcuts.js";
import { fromMinor, toMinor } from "./project_form.js";
import { formatShare } from "./quality.js";
import { t } from "./i18n.js";

const bind = (action, keys, group, en, zh) =>
  Object.freeze({ action, keys: Object.freeze(keys), group, description: Object.freeze({ en, zh }) });

export const REVIEW_GROUPS = Object.freeze([
  Object.freeze({ id: "review", en: "Review", zh: "审核" }),
  Object.freeze({ id: "fix", en: "Fixing an answer", zh: "修正答案" }),
]);

// Judging the answers of an item: a verdict for the answer in hand, and moving between answers.
export const REVIEW_BINDINGS = Object.freeze([
  bind("accept", ["a"], "review", "Accept the answer", "接受该答案"),
  bind("reject", ["r"], "review", "Reject the answer (with a reason)", "驳回该答案（需写明理由）"),
  bind("fix", ["f"], "review", "Fix the answer", "修正该答案"),
  bind("next", ["j", "arrowdown", "arrowright"], "review", "Next answer", "下一个答案"),
  bind("previous", ["k", "arrowup", "arrowleft"], "review", "Previous answer", "上一个答案"),
  bind("help", ["?"], "review", "Show keyboard shortcuts", "显示快捷键"),
]);

// Fixing one answer: the labelling page's label keys, and saving or leaving the fix.
export const FIX_BINDINGS = Object.freeze([
  bind("search", ["/", "l"], "fix", "Search labels", "搜索标签"),
  bind("nextPart", ["j", "arrowdown"], "fix", "Select the next object or span", "选择下一个对象或片段"),
  bind("previousPart", ["k", "arrowup"], "fix", "Select the previous object or span", "选择上一个对象或片段"),
  bind("remove", ["delete", "backspace"], "fix", "Remove the selected object or span", "删除选中的对象或片段"),
  bind("save", ["ctrl+enter"], "fix", "Save the fix", "保存修正"),
  bind("cancel", ["escape"], "fix", "Deselect, then leave the fix", "取消选择，再按一次退出修正"),
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) =>
    bind(`recent${n}`, [String(n)], "fix", `Recent label ${n}`, `最近使用的第 ${n} 个标签`)),
]);

export const REVIEW_KEYMAP = createKeymap(REVIEW_BINDINGS);
export const FIX_KEYMAP = createKeymap(FIX_BINDINGS);

/**
 * What a key does on the review page, given what the page is doing (`mode`): "review" (answers in hand),
 * "reject" (a reason being typed), "fix" (an answer being corrected), anything else (nothing to act on but help).
 * Keys typed in a field act only when they leave it: Enter sends a rejection's reason (Shift+Enter is a new
 * line), Escape cancels, Ctrl+Enter saves a fix.
 * @returns {string|null} the action's name
 */
export function keyAction(mode, event) {
  const typing = typingIn(event.target);
  if (mode === "reject") {
    if (event.key === "Escape") return "cancel";
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) return "sendReject";
    return typing ? null : match(REVIEW_KEYMAP, event) === "help" ? "help" : null;
  }
  if (mode === "fix") {
    const action = match(FIX_KEYMAP, event);
    if (typing) return action === "save" ? "save" : null; // the label search keeps its own keys
    return action;
  }
  if (typing) return null;
  const action = match(REVIEW_KEYMAP, event);
  if (mode === "review") return action;
  return action === "help" ? "help" : null;
}

// Keys pressed in a text field are typing; in a switch (the legend's checkboxes) they are the page's.
const SWITCHES = new Set(["checkbox", "radio", "button", "submit", "reset"]);
function typingIn(target) {
  if (target && String(target.tagName).toUpperCase() === "INPUT" && SWITCHES.has(String(target.type).toLowerCase())) return false;
  return isTypingTarget(target);
}

/** The answers still waiting for a verdict. */
export function remaining(answers) {
  return (answers || []).filter((answer) => !answer.verdict);
}

/** The answer `by` places from `index` (j/k), wrapping around; -1 when there are none. */
export function step(answers, index, by) {
  const count = (answers || []).length;
  if (!count) return -1;
  if (index < 0) return by > 0 ? 0 : count - 1;
  return (((index + by) % count) + count) % count;
}

/** The first answer without a verdict after `index` (then from the top); -1 when every answer has one. */
export function nextOpen(answers, index = -1) {
  const count = (answers || []).length;
  for (let n = 1; n <= count; n += 1) {
    const at = (((index + n) % count) + count) % count;
    if (!answers[at].verdict) return at;
  }
  return -1;
}

/** Why the item is in the queue, in words, with the agreement of its answers. */
export function whyPicked(item) {
  const parts = [t(`rv.reason.${item.reason}`)];
  // The agreement the item was picked for, else its answers' agreement now.
  const agreement = typeof item.agreement === "number" ? item.agreement : item.consensus && item.consensus.agreement;
  if (typeof agreement === "number") parts.push(t("rv.agreementWas", { share: formatShare(agreement) }));
  if (item.task && item.task.is_gold) parts.push(t("rv.goldTask"));
  return parts.join(" · ");
}

// The policy's defaults as the API fills them in.
export const POLICY_DEFAULTS = Object.freeze({ sample_rate: 0, below_agreement: null, gold_failures: false,
  first_answers: 0, appeal_days: 7, reviewer_pay: 0 });

/** A review policy (or null: none) as the settings form's field values, money in the currency's units. */
export function policyFields(policy, digits = 2) {
  const p = { ...POLICY_DEFAULTS, ...(policy || {}) };
  return { enabled: Boolean(policy), sample_rate: String(p.sample_rate), below_agreement: p.below_agreement === null
    ? "" : String(p.below_agreement), gold_failures: Boolean(p.gold_failures), first_answers: String(p.first_answers),
  appeal_days: String(p.appeal_days), reviewer_pay: fromMinor(p.reviewer_pay || 0, digits) };
}

const number = (text) => (String(text ?? "").trim() === "" ? null : Number(String(text).trim()));

/**
 * The settings form's review fields as the API's `review`: undefined (leave it as it is: no policy before, none
 * now), null (remove the policy), or the policy. Only what the browser can tell is wrong is refused here
 * (`errors`: field -> message key); the API checks the ranges and says so per field.
 */
export function policyBody(fields, had, digits = 2) {
  if (!fields.enabled) return { review: had ? null : undefined, errors: {} };
  const errors = {};
  const pay = toMinor(fields.reviewer_pay, digits);
  if (pay === null) errors.reviewer_pay = "pf.badMoney";
  const review = {
    sample_rate: number(fields.sample_rate) ?? 0,
    below_agreement: number(fields.below_agreement),
    gold_failures: Boolean(fields.gold_failures),
    first_answers: number(fields.first_answers) ?? 0,
    appeal_days: number(fields.appeal_days) ?? POLICY_DEFAULTS.appeal_days,
    reviewer_pay: pay ?? 0,
  };
  for (const [name, value] of Object.entries(review)) {
    if (typeof value === "number" && Number.isNaN(value)) errors[name] = "pf.notNumber";
  }
  return { review, errors };
}

/** An API problem's messages for the fields under `prefix` ("review."), by the field's own name. */
export function fieldErrors(problem, prefix) {
  const found = {};
  for (const [field, messages] of Object.entries((problem && problem.errors) || {})) {
    if (field.startsWith(prefix)) found[field.slice(prefix.length)] = [].concat(messages).join(" ");
  }
  return found;
}

/** Whether a policy sends anything to the queue (the server's rule). */
export function queues(policy) {
  if (!policy) return false;
  return Boolean(policy.sample_rate || (policy.below_agreement !== null && policy.below_agreement !== undefined)
    || policy.gold_failures || policy.first_answers);
}

/** A reviewer's row of figures: verdicts, appeals, agreement with gold, the median time per review. */
export function reviewerFigures(row) {
  const gold = row.gold_checked ? formatShare(row.gold_agreeing / row.gold_checked) : "—";
  const goldTitle = row.gold_checked ? `${row.gold_agreeing}/${row.gold_checked}` : "";
  const median = typeof row.median_seconds === "number" ? t("rv.seconds", { seconds: row.median_seconds < 10
    ? row.median_seconds.toFixed(1) : String(Math.round(row.median_seconds)) }) : "—";
  return { numbers: [row.reviews, row.accepted, row.rejected, row.fixed, row.overturned, row.upheld].map(String),
    gold, goldTitle, median };
}

/**
 * An answer's review as its author sees it (GET /me/annotations): the verdict's words, the reviewer's reason,
 * whether it may still be appealed (a rejection, not appealed, before appeal_until) and the appeal's state.
 * `now`: milliseconds.
 */
export function reviewState(answer, now = Date.now()) {
  const verdict = answer.verdict || null;
  const until = answer.appeal_until ? Date.parse(answer.appeal_until) : NaN;
  const appealable = verdict === "rejected" && !answer.appeal_id && !Number.isNaN(until) && until > now;
  let appeal = null;
  if (answer.appeal_id) appeal = answer.appeal_status || "open";
  const windowClosed = verdict === "rejected" && !answer.appeal_id && !appealable;
  return { verdict, verdictKey: verdict ? `tv.v.${verdict}` : "ma.notReviewed", note: answer.review_note || "",
    appealable, until: appealable ? answer.appeal_until : null, appeal, windowClosed };
}

/**
 * An appeal's answer and rejection (task, result, author, the rejection's reason) from the appeal itself when the
 * API gives them, else null for what it does not say.
 */
export function appealFacts(appeal) {
  return { taskId: appeal.task_id ?? (appeal.task && appeal.task.id) ?? null,
    result: appeal.result ?? (appeal.answer && appeal.answer.result) ?? null,
    user: appeal.user ?? (appeal.answer && appeal.answer.user) ?? null,
    rejection: appeal.review_note ?? appeal.rejection_note ?? (appeal.review && appeal.review.note) ?? null };
}
