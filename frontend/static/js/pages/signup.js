// Sign up in the language chosen on this page, then straight in.
import { api, forgetCsrf } from "../lib/api.js";
import { locale } from "../lib/i18n.js";
import { startPage } from "../components/chrome.js";

await startPage({ signedIn: false });
const form = document.getElementById("signup-form");
const errors = document.getElementById("signup-errors");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errors.hidden = true;
  const data = Object.fromEntries(new FormData(form));
  try {
    await api.post("/api/v1/auth/register", { email: data.email, password: data.password,
      display_name: data.display_name, locale: locale() });
    await api.post("/api/v1/auth/login", { email: data.email, password: data.password });
    forgetCsrf(); // a new session, a new token
    window.location.assign("/");
  } catch (error) {
    const fields = (error.problem && error.problem.errors) || {};
    const lines = Object.entries(fields).map(([name, messages]) => {
      const label = form.querySelector(`[name="${CSS.escape(name)}"]`)?.closest("label")?.querySelector("span");
      return `${label ? label.textContent : name}: ${[].concat(messages).join(" ")}`;
    });
    errors.replaceChildren(...(lines.length ? lines : [error.message]).map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
    errors.hidden = false;
  }
});
