// The next steps of an empty state ("No tasks yet" -> Import data): one link per step, in the page's language.
import { t } from "../lib/i18n.js";

/** Fill `host` with links, one per step `[message key, href]`; each link names its step in data-step. */
export function nextSteps(host, steps) {
  host.replaceChildren(...steps.map(([key, href]) => {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = t(key);
    link.dataset.step = key;
    return link;
  }));
  host.hidden = steps.length === 0;
}
