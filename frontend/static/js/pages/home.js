import { api, forgetCsrf } from "../lib/api.js";

const me = await api.get("/api/v1/me");
document.getElementById("display-name").textContent = me.display_name;
document.getElementById("email").textContent = me.email;
document.getElementById("who").textContent = me.display_name;

document.getElementById("logout").addEventListener("click", async () => {
  await api.post("/api/v1/auth/logout");
  forgetCsrf();
  window.location.assign("/login");
});
