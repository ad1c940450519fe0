// New project and project settings: name, instructions (Markdown, previewed safely), media type, tools, the
// taxonomy (pasted as an indented list or JSON, shown as a searchable tree), attributes, overlap, gold share,
// qualification, rewards, the review policy (what goes to the review queue, the appeal window, reviewer pay), the
// revenue-sharing terms contributors accept before labelling (a changed text is a new version; empty: the
// platform's); and, in settings, a deposit into the budget.
import { api, once } from "../lib/api.js";
import { currencyDigits, formatMoney, formatNumber, t } from "../lib/i18n.js";
import { renderMarkdown } from "../lib/markdown.js";
import { countLabels, parseTaxonomy, toText } from "../lib/taxonomy_text.js";
import { attributesText, fromMinor, parseAttributes, problemLines, toMinor, toolsFor } from "../lib/project_form.js";
import { fieldErrors, policyBody, policyFields } from "../lib/review.js";
import { buildIndex, search } from "../annotate/taxonomy.js";
import { showError, startPage } from "../components/chrome.js";

await startPage();
const $ = (id) => document.getElementById(id);
const form = $("project-form");
const projectId = Number($("project-form-page").dataset.projectId) || null;
const field = (name) => form.elements.namedItem(name);
let currency = "CNY";
let parsed = { labels: [], errors: [] };
let index = buildIndex([]);
let hadPolicy = false; // whether the project has a review policy (unticking the box then removes it)
let terms = null; // the project's terms as saved ({version, text}), null for the platform's
const REVIEW_FIELDS = ["sample_rate", "below_agreement", "first_answers", "appeal_days", "reviewer_pay", "gold_failures"];

function mediaType() {
  return form.querySelector("input[name=media_type]:checked").value;
}

function renderTools(chosen) {
  $("tool-choices").replaceChildren(...toolsFor(mediaType()).map((tool) => {
    const label = document.createElement("label");
    label.className = "inline";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "tool";
    input.value = tool;
    input.checked = chosen.includes(tool);
    const name = document.createElement("span");
    name.textContent = t(`pf.tool.${tool}`);
    label.append(input, " ", name);
    return label;
  }));
}

function renderPreview() {
  renderMarkdown($("instructions-preview"), field("instructions").value);
}

function renderTaxonomy() {
  parsed = parseTaxonomy($("taxonomy").value);
  $("taxonomy-errors").replaceChildren(...parsed.errors.map((error) => {
    const item = document.createElement("li");
    item.textContent = t("pf.lineError", { line: error.line, message: error.message });
    return item;
  }));
  try {
    index = buildIndex(parsed.labels);
  } catch {
    index = buildIndex([]);
  }
  $("taxonomy-count").textContent = t("pf.labelCount", { count: formatNumber(countLabels(parsed.labels)) });
  renderTree();
}

// The tree as indented rows (at most 500 shown), or the search's matches with their paths.
function renderTree() {
  const query = $("taxonomy-search").value.trim();
  const entries = query ? search(index, query, 100) : index.entries.slice(0, 500);
  $("taxonomy-tree").replaceChildren(...entries.map((entry) => {
    const item = document.createElement("li");
    item.style.paddingLeft = query ? "0" : `${entry.depth * 1.1}rem`;
    item.dataset.labelId = entry.id;
    const name = document.createElement("span");
    name.textContent = query ? entry.pathText : entry.name;
    const id = document.createElement("code");
    id.className = "muted small";
    id.textContent = ` ${entry.id}`;
    item.append(name, id);
    return item;
  }));
}

function number(name) {
  const raw = field(name).value.trim();
  return raw === "" ? null : Number(raw);
}

// The review policy's fields as they stand.
function reviewValues() {
  const values = { enabled: field("review_enabled").checked, gold_failures: field("gold_failures").checked };
  for (const name of REVIEW_FIELDS.filter((n) => n !== "gold_failures")) values[name] = field(name).value;
  return values;
}

function fillReview(policy) {
  const values = policyFields(policy, currencyDigits(currency));
  field("review_enabled").checked = values.enabled;
  field("gold_failures").checked = values.gold_failures;
  for (const name of REVIEW_FIELDS.filter((n) => n !== "gold_failures")) field(name).value = values[name];
  hadPolicy = Boolean(policy);
  toggleReview();
}

// The policy's fields only count with the box ticked.
function toggleReview() {
  const on = field("review_enabled").checked;
  for (const name of REVIEW_FIELDS) field(name).disabled = !on;
  $("review-policy").classList.toggle("off", !on);
}

// Messages next to the review fields they are about ({field: message}); the others cleared.
function showReviewErrors(errors) {
  for (const small of form.querySelectorAll("[data-error-for]")) {
    const message = errors[small.dataset.errorFor];
    small.textContent = message || "";
    small.hidden = !message;
    field(small.dataset.errorFor).setAttribute("aria-invalid", String(Boolean(message)));
  }
}

// The form as the API's body, or null with the problems shown.
function body() {
  const problems = [];
  showReviewErrors({});
  const attributes = parseAttributes(field("attributes").value);
  for (const error of attributes.errors) problems.push(t("pf.attributeError", { line: error.line, message: error.message }));
  if (parsed.errors.length) problems.push(t("pf.fixTaxonomy"));
  const digits = currencyDigits(currency);
  const perAnnotation = toMinor(field("per_annotation").value, digits);
  const bonus = toMinor(field("agreement_bonus").value, digits);
  if (perAnnotation === null || bonus === null) problems.push(t("pf.badMoney"));
  const review = policyBody(reviewValues(), hadPolicy, digits);
  if (Object.keys(review.errors).length) {
    showReviewErrors(Object.fromEntries(Object.entries(review.errors).map(([name, key]) => [name, t(key)])));
    problems.push(t("pf.fixReview"));
  }
  if (problems.length) {
    $("form-error").textContent = problems.join("\n");
    $("form-error").hidden = false;
    return null;
  }
  const tools = [...form.querySelectorAll("input[name=tool]:checked")].map((input) => input.value);
  const qualification = {};
  if (number("min_gold_accuracy") !== null) qualification.min_gold_accuracy = number("min_gold_accuracy");
  if (number("warmup_gold") !== null) qualification.warmup_gold = number("warmup_gold");
  const out = {
    name: field("name").value.trim(),
    description: field("description").value,
    instructions: field("instructions").value,
    label_schema: { tools, multi_label: field("multi_label").checked, labels: parsed.labels,
      attributes: attributes.attributes },
    overlap: number("overlap"),
    gold_ratio: number("gold_ratio") ?? 0,
    lease_seconds: number("lease_seconds"),
    aggregation: field("aggregation").value,
    visibility: field("visibility").value,
    rewards: { per_annotation: perAnnotation, agreement_bonus: bonus },
    licence: field("licence").value.trim(),
  };
  if (Object.keys(qualification).length) out.qualification = qualification;
  if (review.review !== undefined) out.review = review.review;
  const termsText = field("terms").value.trim();
  if (termsText !== ((terms && terms.text) || "").trim()) out.terms = termsText ? { text: termsText } : null;
  if (!projectId) out.media_type = mediaType();
  return out;
}

async function save(event) {
  event.preventDefault();
  if ($("save").disabled) return; // one project per click, however many clicks
  $("form-error").hidden = true;
  $("saved").textContent = "";
  showTermsError(null);
  const payload = body();
  if (!payload) return;
  $("save").disabled = true;
  try {
    if (projectId) {
      const saved = await api.patch(`/api/v1/projects/${projectId}`, payload);
      fillReview(saved.review);
      fillTerms(saved.terms);
      $("saved").textContent = t("pf.saved");
    } else {
      const made = await api.post("/api/v1/projects", payload);
      window.location.assign(`/projects/${made.id}/import`);
    }
  } catch (error) {
    showReviewErrors(fieldErrors(error.problem, "review."));
    showTermsError(error.problem);
    const lines = problemLines(error.problem);
    $("form-error").textContent = lines.length ? lines.join("\n") : error.message;
    $("form-error").hidden = false;
  } finally {
    $("save").disabled = false;
  }
}

// The terms as saved: the text to edit and which version it is (none: the platform's default terms).
function fillTerms(saved) {
  terms = saved || null;
  field("terms").value = terms ? terms.text : "";
  $("terms-version").textContent = terms ? t("pf.termsVersion", { version: terms.version }) : t("pf.termsNone");
  $("terms-version").dataset.version = String(terms ? terms.version : 0);
}

function showTermsError(problem) {
  const found = Object.entries((problem && problem.errors) || {}).filter(([name]) => name === "terms" || name.startsWith("terms."));
  const text = found.map(([, messages]) => [].concat(messages).join(" ")).join(" ");
  $("terms-error").textContent = text;
  $("terms-error").hidden = !text;
  field("terms").setAttribute("aria-invalid", String(Boolean(text)));
}

function fill(project) {
  $("form-title").textContent = t("pf.settingsTitle", { name: project.name });
  field("name").value = project.name;
  field("description").value = project.description || "";
  field("instructions").value = project.instructions || "";
  for (const input of form.querySelectorAll("input[name=media_type]")) {
    input.checked = input.value === project.media_type;
    input.disabled = true;
  }
  const schema = project.label_schema;
  renderTools(schema.tools || []);
  field("multi_label").checked = Boolean(schema.multi_label);
  $("taxonomy").value = toText(schema.labels || []);
  field("attributes").value = attributesText(schema.attributes);
  field("overlap").value = project.overlap;
  field("gold_ratio").value = project.gold_ratio;
  field("lease_seconds").value = project.lease_seconds;
  field("aggregation").value = project.aggregation;
  field("visibility").value = project.visibility;
  field("licence").value = project.licence || "";
  field("min_gold_accuracy").value = project.qualification?.min_gold_accuracy ?? "";
  field("warmup_gold").value = project.qualification?.warmup_gold ?? "";
  const digits = currencyDigits(currency);
  field("per_annotation").value = fromMinor(project.rewards?.per_annotation || 0, digits);
  field("agreement_bonus").value = fromMinor(project.rewards?.agreement_bonus || 0, digits);
  fillReview(project.review);
  fillTerms(project.terms);
}

async function showBudget() {
  const budget = await api.get(`/api/v1/projects/${projectId}/budget`);
  const waiting = await api.get(`/api/v1/projects/${projectId}/budget/deposits?status=pending&per_page=100`);
  const pending = waiting.items.reduce((sum, d) => sum + d.amount, 0);
  $("budget-balance").textContent = formatMoney(budget.balance, currency)
    + (pending ? ` · ${t("pf.pendingDeposits", { amount: formatMoney(pending, currency) })}` : "");
  $("budget-balance").dataset.balance = String(budget.balance);
  $("budget-balance").dataset.pending = String(pending);
}

const deposit = once("deposit"); // a retry or a double click deposits once
$("deposit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("deposit-form").querySelector("button[type=submit]");
  if (button.disabled) return;
  button.disabled = true;
  $("deposit-error").hidden = true;
  const amount = toMinor(new FormData($("deposit-form")).get("amount"), currencyDigits(currency));
  try {
    const asked = await deposit(`/api/v1/projects/${projectId}/budget/deposits`, { amount: amount ?? -1 });
    $("deposit-message").textContent = t("pf.deposited", { amount: formatMoney(asked.amount, currency) });
    $("deposit-form").reset();
    await showBudget();
  } catch (error) {
    showError($("deposit-error"), error);
  } finally {
    button.disabled = false;
  }
});

for (const input of form.querySelectorAll("input[name=media_type]")) {
  input.addEventListener("change", () => renderTools(mediaType() === "image" ? ["bbox"] : ["classify"]));
}
field("instructions").addEventListener("input", renderPreview);
field("review_enabled").addEventListener("change", toggleReview);
$("taxonomy").addEventListener("input", renderTaxonomy);
$("taxonomy-search").addEventListener("input", renderTree);
form.addEventListener("submit", save);

try {
  currency = (await api.get("/api/v1/wallet")).currency;
} catch { /* the default */ }
if (projectId) {
  try {
    const project = await api.get(`/api/v1/projects/${projectId}`);
    fill(project);
    // The bonus is priced by the project's reward mechanism, chosen on the Incentives page.
    $("mechanism-name").textContent = t("pf.mechanism", { name: t(`inc.m.${project.rewards.mechanism}`) });
    $("incentives-link").href = `/projects/${projectId}/incentives`;
    $("members-link").href = `/projects/${projectId}/members`;
    $("members-link").hidden = false;
    $("mechanism-line").hidden = false;
    if (project.role === "owner") {
      $("deposit-form").hidden = false;
      await showBudget();
    }
  } catch (error) {
    showError($("form-error"), error);
    form.hidden = true;
  }
} else {
  renderTools(["bbox"]);
  fillReview(null);
}
renderTaxonomy();
renderPreview();
$("project-form-page").dataset.state = "ready";
