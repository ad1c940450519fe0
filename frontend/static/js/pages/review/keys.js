// The review page's keyboard: a, r, f give a verdict on the answer in hand, j/k (or the arrows) move between the
// answers, ? lists the keys; while a reason is written Enter sends it and Escape leaves it; while an answer is
// fixed, the fix's keys (fix.js). Keys typed in a field stay there.
import { locale, t } from "../../lib/i18n.js";
import { FIX_KEYMAP, REVIEW_GROUPS, REVIEW_KEYMAP, keyAction, step } from "../../lib/review.js";
import { helpRows } from "../../annotate/shortcuts.js";
import { $, element } from "./dom.js";
import { fixKey, startFix } from "./fix.js";
import { drawItem, renderAnswers } from "./item.js";
import { accept, cancel, sendReject, startReject } from "./verdicts.js";

export function bindKeys(rv) {
  rv.actions = {
    accept: () => accept(rv),
    reject: () => startReject(rv),
    fix: () => startFix(rv),
    sendReject: () => sendReject(rv),
    cancel: () => cancel(rv),
    next: () => move(rv, 1),
    previous: () => move(rv, -1),
    help: () => openHelp(),
  };
  document.addEventListener("keydown", (event) => {
    if ($("help-dialog").open || event.defaultPrevented) return;
    const action = keyAction(rv.mode, event);
    if (!action) return;
    if (rv.busy && action !== "help") { event.preventDefault(); return; } // a verdict is on its way
    event.preventDefault();
    if (rv.mode === "fix" && action !== "help") fixKey(rv, action);
    else rv.actions[action]?.();
  });
  $("help-button").addEventListener("click", openHelp);
}

function move(rv, by) {
  if (rv.mode !== "review" || !rv.item) return;
  rv.current = step(rv.item.answers, rv.current, by);
  renderAnswers(rv);
  drawItem(rv);
}

function openHelp() {
  const lang = locale() === "zh-CN" ? "zh" : "en";
  const rows = [];
  for (const [keymap, group] of [[REVIEW_KEYMAP, REVIEW_GROUPS[0]], [FIX_KEYMAP, REVIEW_GROUPS[1]]]) {
    const heading = element("tr");
    const th = element("th", "", group[lang]);
    th.colSpan = 2;
    heading.append(th);
    rows.push(heading);
    for (const row of helpRows(keymap, lang)) {
      const recent = /^recent(\d)$/.exec(row.action);
      if (recent && recent[1] !== "1") continue;
      rows.push(shortcutRow(recent ? ["1", "…", "9"] : row.keys, recent ? t("ws.recent") : row.description));
    }
  }
  const enter = element("tr");
  enter.append(element("td"), element("td", "muted small", t("rv.enterHelp")));
  rows.push(enter);
  $("help-rows").replaceChildren(...rows);
  $("help-dialog").showModal();
}

function shortcutRow(keys, description) {
  const tr = element("tr");
  const td = element("td");
  keys.forEach((key, n) => {
    if (key === "…") { td.append(" … "); return; }
    if (n && keys[n - 1] !== "…") td.append(" ");
    td.append(element("kbd", "", key));
  });
  tr.append(td, element("td", "", description));
  return tr;
}
