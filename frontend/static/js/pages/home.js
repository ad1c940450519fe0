// Projects: what each pays and how much work is left; label where you may, the dashboard where you run it.
import { api } from "../lib/api.js";
import { formatMoney, formatNumber, t } from "../lib/i18n.js";
import { roleKey } from "../lib/projects.js";
import { startPage } from "../components/chrome.js";

const me = await startPage();
document.getElementById("welcome").textContent = t("home.welcome", { name: me.display_name });
document.getElementById("signed-in-as").textContent = t("home.signedInAs", { email: me.email });

const [page, wallet] = await Promise.all([api.get("/api/v1/projects?per_page=100"),
  api.get("/api/v1/wallet").catch(() => ({ currency: "CNY" }))]);
const list = document.getElementById("projects");
for (const project of page.items) {
  const item = document.createElement("li");
  const name = document.createElement("span");
  name.className = "project-name";
  name.textContent = project.name;
  const facts = document.createElement("span");
  facts.className = "muted small";
  const pay = project.rewards && project.rewards.per_annotation;
  facts.textContent = [
    t(roleKey(project)),
    pay ? t("home.pays", { amount: formatMoney(pay, wallet.currency) }) : t("home.unpaid"),
    t("home.left", { count: formatNumber(project.open_tasks ?? 0) }),
  ].join(" · ");
  facts.dataset.openTasks = String(project.open_tasks ?? 0);
  name.append(document.createElement("br"), facts);
  item.append(name);
  if (["owner", "manager"].includes(project.role)) {
    for (const [key, path] of [["home.import", "import"], ["home.settings", "settings"],
      ["home.members", "members"], ["home.incentives", "incentives"]]) {
      const link = document.createElement("a");
      link.href = `/projects/${project.id}/${path}`;
      link.textContent = t(key);
      link.dataset[`${path}For`] = String(project.id);
      item.append(link);
    }
  }
  if (project.role === "owner") { // releases and their revenue are the owner's
    const releases = document.createElement("a");
    releases.href = `/projects/${project.id}/releases`;
    releases.textContent = t("home.releases");
    releases.dataset.releasesFor = String(project.id);
    item.append(releases);
  }
  if (["owner", "manager", "reviewer"].includes(project.role)) {
    const tasks = document.createElement("a");
    tasks.href = `/projects/${project.id}/tasks`;
    tasks.textContent = t("home.tasks");
    tasks.dataset.tasksFor = String(project.id);
    item.append(tasks);
    const dashboard = document.createElement("a");
    dashboard.href = `/projects/${project.id}/quality`;
    dashboard.textContent = t("home.dashboard");
    dashboard.dataset.qualityFor = String(project.id);
    item.append(dashboard);
    const review = document.createElement("a");
    review.href = `/projects/${project.id}/review`;
    review.textContent = t("home.review");
    review.dataset.reviewFor = String(project.id);
    item.append(review);
  }
  if (project.status === "active") {
    const link = document.createElement("a");
    link.href = `/projects/${project.id}/label`;
    link.textContent = t("home.label");
    link.dataset.projectId = String(project.id);
    item.append(link);
  }
  list.append(item);
}
document.getElementById("no-projects").hidden = page.items.length > 0;
