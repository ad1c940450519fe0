// The drawing tools of an image task (select, box, polygon, keypoint) and the buttons only images have.
import { t } from "../../lib/i18n.js";
import { $ } from "./dom.js";
import { imageTools, isImage } from "./state.js";

export function renderTools(ws) {
  const tools = isImage(ws) ? ["select", ...imageTools(ws)] : [];
  const host = $("tools");
  if (host.dataset.tools !== tools.join(",")) {
    host.dataset.tools = tools.join(",");
    host.replaceChildren(...tools.map((tool) => toolButton(ws, tool)));
  }
  for (const button of host.querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.dataset.tool === ws.tool));
  for (const element of document.querySelectorAll(".image-only")) element.hidden = !isImage(ws);
}

function toolButton(ws, tool) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.tool = tool;
  button.textContent = t(`ws.tool.${tool}`);
  button.addEventListener("click", () => setTool(ws, tool));
  return button;
}

export function setTool(ws, tool) {
  if (tool !== "select" && !imageTools(ws).includes(tool)) return;
  ws.stage.cancel();
  ws.tool = tool;
  $("stage").dataset.tool = tool;
  renderTools(ws);
}
