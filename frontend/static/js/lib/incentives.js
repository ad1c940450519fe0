// The Incentives page's numbers, free of the DOM (node tests them): the chosen parameters checked against
// the mechanism's limits, simulation results as chart data, the replay as table rows.

export const STRATEGY_COLOURS = {
  expert: "#2f6fdf", novice: "#7fa6ea", spammer: "#d9534f", constant: "#f0ad4e",
  colluders: "#8e44ad", gold_sniffer: "#16a085", copycat: "#7f8c8d",
};
export const MECHANISM_COLOURS = { agreement: "#7f8c8d", gold: "#f0ad4e", peer_prediction: "#2f6fdf", posterior: "#16a085" };

// Form values (strings) for a mechanism's parameters -> numbers, or the first error as {field, message}. The
// server checks again; this only spares a round trip.
export function readParams(mechanism, values) {
  const params = {};
  for (const [name, fallback] of Object.entries(mechanism.params)) {
    const raw = values[name];
    if (raw === undefined || raw === "") {
      params[name] = fallback;
      continue;
    }
    const value = Number(raw);
    const [low, high] = mechanism.limits[name];
    if (!Number.isFinite(value)) return { error: { field: name, message: "number" } };
    if (Number.isInteger(fallback) && !Number.isInteger(value)) return { error: { field: name, message: "whole" } };
    if (value < low || value > high) return { error: { field: name, message: "range", low, high } };
    params[name] = value;
  }
  return { params };
}

// Which mechanisms a project can use: those that compare whole-item labels need exactly one per answer.
export function usable(mechanism, schema) {
  if (!mechanism.needs_labels) return true;
  const tools = (schema && schema.tools) || [];
  return tools.includes("classify") && !schema.multi_label;
}

// One simulation's result -> a grouped bar chart: one group per mechanism, one bar per strategy (pay per answer).
export function payBars(result) {
  const mechanisms = result.mechanisms.map((m) => m.id);
  const strategies = Object.keys(result.mechanisms[0].by_strategy);
  return {
    labels: mechanisms,
    datasets: strategies.map((s) => ({
      label: s,
      backgroundColor: STRATEGY_COLOURS[s] || "#999",
      data: result.mechanisms.map((m) => m.by_strategy[s].pay_per_answer),
    })),
  };
}

// Several crowds' results -> scatter points per mechanism: x consensus accuracy, y cost per correct label.
export function costPoints(results) {
  const by = new Map();
  for (const [crowd, result] of results) {
    for (const m of result.mechanisms) {
      if (m.cost_per_correct === null) continue;
      if (!by.has(m.id)) by.set(m.id, []);
      by.get(m.id).push({ x: m.accuracy, y: m.cost_per_correct, crowd });
    }
  }
  return {
    datasets: [...by].map(([id, data]) => ({ label: id, data, backgroundColor: MECHANISM_COLOURS[id] || "#999",
      pointRadius: 5 })),
  };
}

// The ratios the study compares, per mechanism, for one result: expert/spammer etc. (null where absent).
export function ratioRows(result) {
  return result.mechanisms.map((m) => ({ id: m.id, ...m.ratios }));
}

// The replay as rows: each annotator's actual pay and each mechanism's, with the difference from actual. An
// external annotator's answers were imported and never paid (actual 0): no difference to show, only what each
// mechanism would have paid at the project's rates.
export function replayRows(replay) {
  return replay.annotators.map((a) => ({
    user_id: a.user_id, name: a.display_name || `#${a.user_id}`, answers: a.answers, actual: a.actual,
    external: Boolean(a.external),
    cells: replay.mechanisms.map((id) => ({ id, amount: a.by_mechanism[id],
      delta: a.external ? null : a.by_mechanism[id] - a.actual, own: id === replay.own })),
  }));
}
