// What every page shares: who is signed in, the language (theirs, remembered on the server; before sign-in,
// this browser's choice), the fixed strings translated, and the top bar's links, switch and sign-out.
import { api, forgetCsrf } from "../lib/api.js";
import { LOCALES, locale, setLocale, t, translate } from "../lib/i18n.js";

const STORED = "annotator.locale";

function storedLocale() {
  try { return localStorage.getItem(STORED); } catch { return null; }
}

function remember(value) {
  try { localStorage.setItem(STORED, value); } catch { /* private mode: the server keeps it for signed-in users */ }
}

// Start a page: returns the signed-in user (or null with `{signedIn: false}` pages such as sign-in).
export async function startPage({ signedIn = true } = {}) {
  let me = null;
  if (signedIn) {
    try {
      me = await api.get("/api/v1/me");
    } catch (error) {
      // The session ended (signed out elsewhere, a new password, deactivated): sign in again.
      if (error.status === 401) window.location.assign("/login");
      throw error;
    }
    setLocale(me.locale);
  } else {
    setLocale(storedLocale() || navigator.language);
  }
  translate(document);
  const who = document.getElementById("who");
  if (who && me) who.textContent = me.display_name;
  const out = document.getElementById("logout");
  if (out) {
    out.hidden = !me;
    out.addEventListener("click", async () => {
      await api.post("/api/v1/auth/logout");
      forgetCsrf();
      window.location.assign("/login");
    });
  }
  const links = document.getElementById("nav-links");
  if (links) links.hidden = !me;
  const admin = document.getElementById("nav-admin");
  if (admin) admin.hidden = !(me && me.is_admin);
  const switcher = document.getElementById("language");
  if (switcher) {
    switcher.replaceChildren(...Object.entries(LOCALES).map(([value, name]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = name;
      option.selected = value === locale();
      return option;
    }));
    switcher.addEventListener("change", async () => {
      remember(switcher.value);
      if (me) await api.patch("/api/v1/me", { locale: switcher.value });
      window.location.reload();
    });
  }
  return me;
}

export function showError(element, error) {
  element.textContent = error && error.message ? error.message : t("error.generic", { detail: String(error) });
  element.hidden = false;
}
