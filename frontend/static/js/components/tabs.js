// Tabs (the WAI-ARIA pattern): a tablist of buttons, each controlling a panel. Arrow keys, Home and End move
// between tabs and show the one reached; only the selected tab is in the Tab order. The URL's #fragment names
// the tab shown, so a reload or a link opens it.

// The tab a key moves to from `index` among `count` tabs; null for other keys.
export function tabAfterKey(key, index, count) {
  switch (key) {
    case "ArrowRight": return (index + 1) % count;
    case "ArrowLeft": return (index - 1 + count) % count;
    case "Home": return 0;
    case "End": return count - 1;
    default: return null;
  }
}

// Wire the tabs of `tablist`; `onShow(name)` runs when a tab is shown (its name is the panel id after "panel-").
export function startTabs(tablist, onShow) {
  const tabs = [...tablist.querySelectorAll("[role=tab]")];
  const nameOf = (tab) => tab.getAttribute("aria-controls").replace(/^panel-/, "");
  const show = (tab, chosen = false) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (chosen) history.replaceState(null, "", `#${nameOf(tab)}`);  // not on arrival: the address stays as given
    onShow(nameOf(tab));
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => show(tab, true));
    tab.addEventListener("keydown", (event) => {
      const next = tabAfterKey(event.key, tabs.indexOf(tab), tabs.length);
      if (next === null) return;
      event.preventDefault();
      show(tabs[next], true);
      tabs[next].focus();
    });
  }
  const wanted = tabs.find((tab) => `#${nameOf(tab)}` === window.location.hash);
  show(wanted || tabs[0]);
}
