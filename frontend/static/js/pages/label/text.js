// A text task: the text with its spans marked, the list of spans, and a selection in the text becoming a
// span (in code points, as the API counts them).
import { t } from "../../lib/i18n.js";
import { addSpan, codePointOffset, removeSpan, spanRuns } from "../../annotate/document.js";
import { colorFor } from "../../annotate/stage.js";
import { $ } from "./dom.js";
import { edit } from "./edit.js";
import { explain, linkButton } from "./objects.js";
import { openSearch } from "./picker.js";
import { doc, labelName, labelPath } from "./state.js";

function taskText(ws) {
  const data = ws.lease?.task.data;
  return typeof data?.text === "string" ? data.text : JSON.stringify(data ?? "");
}

export function renderText(ws, current) {
  const text = taskText(ws);
  const host = $("task-text");
  if (!ws.parts.spans) {
    host.textContent = text;
    return;
  }
  host.replaceChildren(...spanRuns(text, current.spans).map((run) => runNode(ws, current, run)));
  $("spans").replaceChildren(...current.spans.map((span, i) => spanItem(ws, text, span, i)));
}

/** A run of text: plain, or a <mark> in the colour of the topmost span over it. */
function runNode(ws, current, run) {
  if (!run.spans.length) return document.createTextNode(run.text);
  const mark = document.createElement("mark");
  const top = run.spans[run.spans.length - 1];
  mark.dataset.span = String(top);
  mark.style.setProperty("--swatch", colorFor(current.spans[top].label, ws.labelOrder));
  if (run.spans.includes(ws.selectedSpan)) mark.className = "selected";
  mark.textContent = run.text;
  mark.title = run.spans.map((i) => (current.spans[i].label ? labelPath(ws, current.spans[i].label) : t("ws.noLabel"))).join(" · ");
  return mark;
}

function spanItem(ws, text, span, i) {
  const item = document.createElement("li");
  item.className = i === ws.selectedSpan ? "selected" : "";
  item.dataset.index = String(i);
  const name = linkButton(`“${Array.from(text).slice(span.start, span.end).join("")}” · ${span.label ? labelName(ws, span.label) : t("ws.noLabel")}`,
    "link swatch-name");
  name.style.setProperty("--swatch", colorFor(span.label, ws.labelOrder));
  name.addEventListener("click", () => { ws.selectedSpan = i; ws.render(); });
  const remove = linkButton(t("ws.delete"), "link small danger");
  remove.addEventListener("click", () => { ws.selectedSpan = -1; edit(ws, removeSpan(doc(ws), i)); });
  item.append(name, remove);
  explain(item, ws.errors.spans[i]);
  return item;
}

export function bindTextSelection(ws) {
  $("task-text").addEventListener("mouseup", () => onTextMouseUp(ws));
}

/** A click on a mark selects its span; a selection inside the text becomes a new span. */
function onTextMouseUp(ws) {
  if (!ws.parts.spans || !ws.lease) return;
  const selection = window.getSelection();
  if (!selection.rangeCount || selection.isCollapsed) {
    const mark = selection.anchorNode && selection.anchorNode.parentElement?.closest("mark");
    if (mark) { ws.selectedSpan = Number(mark.dataset.span); ws.render(); }
    return;
  }
  const range = selectedRange(selection);
  if (!range) return;
  selection.removeAllRanges();
  addSpanAt(ws, range.start, range.end);
}

/** The selection's start and end in code points of the task text, or null when it reaches outside it. */
function selectedRange(selection) {
  const host = $("task-text");
  const range = selection.getRangeAt(0);
  if (!host.contains(range.startContainer) || !host.contains(range.endContainer)) return null;
  const offset = (container, at) => {
    const before = document.createRange();
    before.setStart(host, 0);
    before.setEnd(container, at);
    return before.toString().length;
  };
  const text = host.textContent;
  return {
    start: codePointOffset(text, offset(range.startContainer, range.startOffset)),
    end: codePointOffset(text, offset(range.endContainer, range.endOffset)),
  };
}

function addSpanAt(ws, start, end) {
  const next = addSpan(doc(ws), start, end, ws.currentLabel);
  if (next === doc(ws)) return;
  edit(ws, next);
  ws.selectedSpan = doc(ws).spans.findIndex((s) => s.start === start && s.end === end);
  ws.selected = -1;
  ws.render();
  if (!ws.currentLabel) openSearch(ws);
}
