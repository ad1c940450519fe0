// A project's incentives: its reward mechanism (owners and managers choose it), the study's standard crowds
// simulated under every mechanism with charts, and the project's own answers replayed.
import { api } from "../lib/api.js";
import { formatMoney, formatNumber as localNumber, t } from "../lib/i18n.js";
import { startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";
import { costPoints, payBars, ratioRows, readParams, replayRows, usable } from "../lib/incentives.js";
import { formatNumber } from "../lib/quality.js";
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, PointElement, ScatterController, Tooltip,
} from "../../vendor/chart.js-4.5.1/chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, ScatterController, PointElement);

await startPage();
const root = document.getElementById("incentives");
const projectId = Number(root.dataset.projectId);
const $ = (id) => document.getElementById(id);
let project = null;
let mechanisms = [];
let crowds = {};
let currency = "CNY";
const results = new Map(); // crowd name -> result
const charts = {};

function fail(where, error) {
  $(where).textContent = error.message;
  $(where).hidden = false;
}

const mechanismName = (id) => t(`inc.m.${id}`);

function describe(rewards) {
  const params = Object.entries(rewards.mechanism_params || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  const name = mechanismName(rewards.mechanism);
  return params ? t("inc.now", { name, params }) : t("inc.nowPlain", { name });
}

// The mechanism form: every mechanism this project's answers allow, its parameters as number fields.
function renderParams() {
  const chosen = mechanisms.find((m) => m.id === $("mechanism-select").value);
  const stored = project.rewards.mechanism === chosen.id ? project.rewards.mechanism_params : chosen.params;
  $("mechanism-params").replaceChildren(...Object.entries(chosen.params).map(([name, fallback]) => {
    const label = document.createElement("label");
    label.className = "inline";
    const words = document.createElement("span");
    words.textContent = name;
    const input = document.createElement("input");
    input.type = "number";
    input.name = name;
    input.step = Number.isInteger(fallback) ? "1" : "any";
    [input.min, input.max] = chosen.limits[name].map(String);
    input.value = String(stored[name] ?? fallback);
    input.size = 6;
    label.append(words, " ", input);
    return label;
  }));
  $("mechanism-summary").textContent = chosen.summary;
}

function startMechanismForm() {
  $("mechanism-select").replaceChildren(...mechanisms.map((m) => {
    const option = document.createElement("option");
    option.value = m.id;
    option.textContent = mechanismName(m.id);
    option.disabled = !usable(m, project.label_schema);
    return option;
  }));
  $("mechanism-select").value = project.rewards.mechanism;
  $("mechanism-now").textContent = describe(project.rewards);
  renderParams();
  $("mechanism-select").addEventListener("change", renderParams);
  $("mechanism-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("mechanism-error").hidden = true;
    $("mechanism-saved").textContent = "";
    const chosen = mechanisms.find((m) => m.id === $("mechanism-select").value);
    const values = Object.fromEntries(new FormData($("mechanism-form")));
    const read = readParams(chosen, values);
    if (read.error) {
      const { field, message, low, high } = read.error;
      fail("mechanism-error", new Error(t(`inc.bad.${message}`, { field, low, high })));
      return;
    }
    try {
      project = await api.patch(`/api/v1/projects/${projectId}`, { rewards: {
        mechanism: chosen.id, mechanism_params: read.params } });
      $("mechanism-now").textContent = describe(project.rewards);
      $("mechanism-saved").textContent = t("inc.saved");
      loadReplay().catch((error) => fail("incentives-error", error));
    } catch (error) {
      fail("mechanism-error", error);
    }
  });
  $("mechanism-panel").hidden = false;
}

// Simulations: one per standard crowd, run by the worker; the bar shows their progress together.
async function runCrowds(event) {
  event.preventDefault();
  $("simulate-error").hidden = true;
  const data = Object.fromEntries(new FormData($("simulate-form")));
  // The project's own rates when it pays a bonus (what it would pay), else the study's.
  const paying = project.rewards.agreement_bonus > 0;
  const body = { tasks: Number(data.tasks), overlap: Number(data.overlap), gold_ratio: Number(data.gold_ratio),
    rewards: { mechanism: project.rewards.mechanism, mechanism_params: project.rewards.mechanism_params,
      ...(paying ? { per_annotation: project.rewards.per_annotation, agreement_bonus: project.rewards.agreement_bonus } : {}) } };
  if (data.own_taxonomy) body.project_id = projectId;
  if (!usable(mechanisms.find((m) => m.id === project.rewards.mechanism), project.label_schema)) {
    delete body.rewards.mechanism;
    delete body.rewards.mechanism_params;
  }
  $("simulate-form").querySelector("button").disabled = true;
  results.clear();
  let started;
  try {
    started = await Promise.all(Object.entries(crowds).map(async ([name, crowd]) => [name,
      await api.post("/api/v1/simulations", { ...body, crowd })]));
  } catch (error) {
    fail("simulate-error", error);
    $("simulate-form").querySelector("button").disabled = false;
    return;
  }
  $("simulate-bar").hidden = false;
  const waiting = new Map(started.map(([name, row]) => [name, row]));
  while (waiting.size) {
    const rows = await Promise.all([...waiting].map(async ([name, row]) => [name,
      await api.get(`/api/v1/simulations/${row.id}`)]));
    for (const [name, row] of rows) {
      if (row.status === "completed") {
        results.set(name, row.result);
        waiting.delete(name);
      } else if (row.status === "failed") {
        fail("simulate-error", new Error(`${name}: ${row.error}`));
        waiting.delete(name);
      } else {
        waiting.set(name, row);
      }
    }
    const done = started.length - waiting.size + [...waiting.values()].reduce((sum, row) => sum + row.progress, 0);
    $("simulate-progress").style.width = `${Math.round((100 * done) / started.length)}%`;
    $("simulate-status").textContent = t("inc.progress", { done: started.length - waiting.size, all: started.length });
    if (waiting.size) await new Promise((resolve) => setTimeout(resolve, 700));
  }
  $("simulate-form").querySelector("button").disabled = false;
  showResults();
}

function showResults() {
  if (!results.size) return;
  const select = $("crowd-select");
  const keep = select.value;
  select.replaceChildren(...[...results.keys()].map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = `${name}: ${Object.entries(crowds[name]).map(([s, n]) => `${n} ${s}`).join(", ")}`;
    return option;
  }));
  select.value = results.has(keep) ? keep : (results.has("30% spammers") ? "30% spammers" : [...results.keys()][0]);
  $("simulate-results").hidden = false;
  drawCrowd();
  charts.cost?.destroy();
  charts.cost = new Chart($("cost-chart"), {
    type: "scatter",
    data: costPoints(results),
    options: { maintainAspectRatio: false, animation: false,
      scales: { x: { title: { display: true, text: t("inc.accuracy") } },
        y: { title: { display: true, text: t("inc.costPerCorrect") } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label} · ${c.raw.crowd}: ${formatNumber(c.raw.x)}, ${c.raw.y}` } } } },
  });
}

function drawCrowd() {
  const result = results.get($("crowd-select").value);
  charts.pay?.destroy();
  charts.pay = new Chart($("pay-chart"), {
    type: "bar",
    data: payBars(result),
    options: { maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, max: result.rates.per_annotation + result.rates.agreement_bonus,
        title: { display: true, text: t("inc.payAxis") } } } },
  });
  $("ratios").replaceChildren(...ratioRows(result).map((row) => {
    const found = result.mechanisms.find((m) => m.id === row.id);
    const tr = document.createElement("tr");
    tr.dataset.mechanism = row.id;
    cell(tr, mechanismName(row.id), row.id === project.rewards.mechanism ? "own" : "");
    cell(tr, formatNumber(found.accuracy), "num");
    cell(tr, found.cost_per_correct === null ? "—" : localNumber(found.cost_per_correct), "num");
    for (const key of ["expert/spammer", "colluders/expert", "constant/spammer", "gold_sniffer/expert"]) {
      cell(tr, row[key] === null || row[key] === undefined ? "—" : `${formatNumber(row[key], 2)}×`, "num");
    }
    return tr;
  }));
}

// The project's settled answers priced again under every mechanism (owners and managers).
async function loadReplay() {
  const replay = await api.get(`/api/v1/projects/${projectId}/incentives/replay`);
  const head = $("replay-head");
  head.replaceChildren();
  for (const text of [t("q.annotator"), t("q.answers"), t("inc.actual"), ...replay.mechanisms.map(mechanismName)]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.append(th);
  }
  const rows = replayRows(replay);
  $("replay").replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.userId = String(row.user_id);
    const name = cell(tr, row.name);
    cell(tr, String(row.answers), "num");
    const paid = cell(tr, formatMoney(row.actual, currency), "num");
    if (row.external) { // answers imported from another tool: named as such, their zero explained below the table
      tr.dataset.external = "true";
      const chip = document.createElement("span");
      chip.className = "chip external";
      chip.textContent = t("inc.external");
      chip.title = paid.title = t("inc.externalTitle");
      name.append(" ", chip);
    }
    for (const c of row.cells) {
      const td = document.createElement("td");
      td.className = `num${c.own ? " own" : ""}${c.delta > 0 ? " more" : c.delta < 0 ? " less" : ""}`;
      td.dataset.mechanism = c.id;
      td.textContent = formatMoney(c.amount, currency);
      tr.append(td);
    }
    return tr;
  }));
  const imported = rows.some((row) => row.external);
  $("replay-external").hidden = !imported;
  // Imported answers are priced at the project's rates: with none, every column is zero, and the way out is Settings.
  const rates = project.rewards || {};
  $("replay-no-rates").hidden = !imported || Boolean(rates.per_annotation || rates.agreement_bonus);
  $("no-replay").hidden = replay.annotators.length > 0;
  $("replay-table").hidden = replay.annotators.length === 0; // no header row over nothing: the next step instead
  $("replay-panel").hidden = false;
}

async function load() {
  project = await api.get(`/api/v1/projects/${projectId}`);
  $("project-name").textContent = `${project.name} · ${t("inc.title")}`;
  const listed = await api.get("/api/v1/mechanisms");
  mechanisms = listed.items;
  crowds = listed.standard_crowds;
  try {
    currency = (await api.get("/api/v1/wallet")).currency;
  } catch { /* the default */ }
  $("simulate-form").addEventListener("submit", (event) => runCrowds(event).catch((error) => fail("simulate-error", error)));
  $("crowd-select").addEventListener("change", drawCrowd);
  if (["owner", "manager"].includes(project.role)) {
    startMechanismForm();
    await loadReplay();
  } else {  // others see which mechanism pays them, not the form
    $("mechanism-now").textContent = describe(project.rewards);
    $("mechanism-form").hidden = true;
    $("mechanism-panel").hidden = false;
  }
}

load().catch((error) => fail("incentives-error", error));
