// The keyboard shortcuts dialog (`?`), grouped, in the page's language; keys 1-9 share one row.
import { locale, t } from "../../lib/i18n.js";
import { GROUPS, helpRows } from "../../annotate/shortcuts.js";
import { $ } from "./dom.js";

export function openHelp(ws) {
  const lang = locale() === "zh-CN" ? "zh" : "en";
  const rows = [];
  let group = null;
  for (const row of helpRows(ws.keymap, lang)) {
    const recent = /^recent(\d)$/.exec(row.action || "");
    if (recent && recent[1] !== "1") continue;
    if (row.group !== group) {
      group = row.group;
      rows.push(groupHeading(groupTitle(group, lang)));
    }
    rows.push(shortcutRow(recent ? ["1", "…", "9"] : row.keys, recent ? t("ws.recent") : row.description));
  }
  $("help-rows").replaceChildren(...rows);
  $("help-dialog").showModal();
}

function groupHeading(title) {
  const heading = document.createElement("tr");
  const th = document.createElement("th");
  th.colSpan = 2;
  th.textContent = title;
  heading.append(th);
  return heading;
}

function shortcutRow(keys, description) {
  const tr = document.createElement("tr");
  const cell = document.createElement("td");
  for (const key of keys) {
    if (key === "…") {
      cell.append(" … ");
      continue;
    }
    const kbd = document.createElement("kbd");
    kbd.textContent = key;
    cell.append(kbd, " ");
  }
  const what = document.createElement("td");
  what.textContent = description;
  tr.append(cell, what);
  return tr;
}

function groupTitle(group, lang) {
  const found = GROUPS.find((g) => (g.id || g.name) === group);
  if (!found) return group;
  return found[lang] || found.en || group;
}
