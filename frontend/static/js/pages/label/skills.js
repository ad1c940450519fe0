// The annotator's own skills in this project (GET /me/skills): a tree of their subtrees with accuracy and interval,
// "proven" where skill routing trusts them, and their expert tier with what the next one asks.
import { api } from "../../lib/api.js";
import { t } from "../../lib/i18n.js";
import { formatShare } from "../../lib/quality.js";
import { flatten, skillTree, tierStanding } from "../../lib/skills.js";
import { labelName } from "../../annotate/taxonomy.js";
import { $ } from "./dom.js";

export async function showSkills(ws) {
  const body = await api.get(`/api/v1/me/skills?project_id=${ws.projectId}`).catch(() => null);
  if (!body || !ws.project) return;
  const tiers = (ws.project.rewards && ws.project.rewards.tiers) || [];
  const whole = body.items.find((item) => item.label === null) || null;
  const rows = skillTree(body.items, ws.project.label_schema.labels);
  const list = $("skills-tree");
  list.replaceChildren(...(whole ? [skillRow(t("sk.whole"), 0, whole, body.proven_low, false)] : []),
    ...rows.map(({ node, depth, skill }) => skillRow(labelName(node), depth + 1, skill, body.proven_low, true)));
  $("skills-none").hidden = body.items.length > 0 || (body.disqualified || []).length > 0;
  const { held, next } = tierStanding(whole, tiers);
  $("tier-line").hidden = tiers.length === 0;
  $("tier-line").textContent = held ? t("sk.tier", { number: held.number, multiplier: held.multiplier }) : t("sk.noTier");
  $("next-tier").hidden = !next;
  if (next) {
    $("next-tier").textContent = t("sk.next", { number: next.number, multiplier: next.multiplier,
      accuracy: formatShare(next.min_accuracy), answers: next.min_answers,
      mine: whole ? formatShare(whole.accuracy) : "—", count: whole ? whole.answers : 0 });
  }
  const lost = body.disqualified || [];
  $("skills-lost").hidden = lost.length === 0;
  const names = new Map(flatten(ws.project.label_schema.labels).map(({ node }) => [node.id, labelName(node)]));
  $("skills-lost").textContent = t("sk.lost", { labels: lost.map((id) => names.get(id) || id).join(", ") });
  $("skills-panel").hidden = false;
}

function skillRow(name, depth, skill, provenLow, routable) {
  const li = document.createElement("li");
  li.style.setProperty("--depth", String(depth));
  const label = document.createElement("span");
  label.className = "skill-name";
  label.textContent = name;
  li.append(label);
  if (skill) {
    li.dataset.label = skill.label ?? "";
    const figures = document.createElement("span");
    figures.className = "muted small";
    figures.textContent = t("sk.row", { accuracy: formatShare(skill.accuracy), low: formatShare(skill.low),
      high: formatShare(skill.high), answers: skill.answers });
    li.append(" ", figures);
    if (routable && skill.low >= provenLow) {
      const badge = document.createElement("span");
      badge.className = "pill proven";
      badge.textContent = t("sk.proven");
      badge.title = t("sk.provenTitle", { low: formatShare(provenLow) });
      li.append(" ", badge);
    }
  }
  return li;
}
