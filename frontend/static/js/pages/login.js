import { api, forgetCsrf } from "../lib/api.js";
import { showError, startPage } from "../components/chrome.js";

await startPage({ signedIn: false });
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = Object.fromEntries(new FormData(form));
  try {
    await api.post("/api/v1/auth/login", { email: data.email, password: data.password });
    forgetCsrf(); // signing in starts a new session with a new token
    window.location.assign("/");
  } catch (err) {
    showError(error, err);
  }
});
