import { api, forgetCsrf } from "../lib/api.js";

const me = await api.get("/api/v1/me");
document.getElementById("display-name").textContent = me.display_name;
document.getElementById("email").textContent = me.email;
document.getElementById("who").textContent = me.display_name;

const page = await api.get("/api/v1/projects?per_page=100");
const list = document.getElementById("projects");
for (const project of page.items) {
  const item = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = project.name;
  item.append(name);
  if (["owner", "manager", "reviewer"].includes(project.role)) {
    const quality = document.createElement("a");
    quality.href = `/projects/${project.id}/quality`;
    quality.textContent = "Quality";
    quality.dataset.qualityFor = String(project.id);
    item.append(quality);
  }
  if (project.status === "active") {
    const link = document.createElement("a");
    link.href = `/projects/${project.id}/label`;
    link.textContent = "Label";
    link.dataset.projectId = String(project.id);
    item.append(link);
  }
  list.append(item);
}
document.getElementById("no-projects").hidden = page.items.length > 0;

document.getElementById("logout").addEventListener("click", async () => {
  await api.post("/api/v1/auth/logout");
  forgetCsrf();
  window.location.assign("/login");
});
