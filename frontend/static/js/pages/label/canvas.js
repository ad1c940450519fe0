// The image stage of this page: it reads the answer and the tool from the state and edits through edit.js.
import { breakCoalescing } from "../../annotate/undo.js";
import { addObject } from "../../annotate/document.js";
import { createStage } from "../../annotate/stage.js";
import { $ } from "./dom.js";
import { edit } from "./edit.js";
import { openSearch } from "./picker.js";
import { doc } from "./state.js";

export function attachStage(ws) {
  return createStage($("stage"), {
    doc: () => doc(ws),
    // A drag is one edit: the next one does not merge into it in the undo history.
    commit: (next) => { edit(ws, next); ws.history = breakCoalescing(ws.history); },
    selected: () => ws.selected,
    select: (i) => { ws.selected = i; ws.render(); },
    tool: () => ws.tool,
    currentLabel: () => ws.currentLabel,
    labelOrder: () => ws.labelOrder,
    imageSize: () => ({ width: ws.image ? ws.image.naturalWidth : 0, height: ws.image ? ws.image.naturalHeight : 0 }),
    addObject: (object) => {
      edit(ws, addObject(doc(ws), object));
      ws.selected = doc(ws).objects.length - 1;
      ws.render();
      if (!object.label) openSearch(ws); // a new object wants its label: type it
    },
  });
}
