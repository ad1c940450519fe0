// A project's people: invite by e-mail with a role (a member at once if the address has an account, else when
// they sign up with it), change a role, remove someone, withdraw an invitation, and choose who may label:
// members only or everyone signed in. The owner changes things; managers see the lists.
import { api } from "../lib/api.js";
import { formatDate, t } from "../lib/i18n.js";
import { showError, startPage } from "../components/chrome.js";
import { cell } from "../components/table.js";

await startPage();
const $ = (id) => document.getElementById(id);
const page = $("members-page");
const projectId = Number(page.dataset.projectId);
const ROLES = ["annotator", "reviewer", "manager"];
let project = null;

const fail = (error) => showError($("members-error"), error);
const isOwner = () => project && project.role === "owner";

function roleSelect(value, onChange) {
  const select = document.createElement("select");
  for (const role of ROLES) {
    const option = document.createElement("option");
    option.value = role;
    option.textContent = t(`home.role.${role}`);
    option.selected = role === value;
    select.append(option);
  }
  if (onChange) select.addEventListener("change", () => onChange(select.value));
  else select.disabled = true;
  return select;
}

function button(key, action, danger = false) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = danger ? "link danger" : "link";
  element.textContent = t(key);
  element.addEventListener("click", async () => {
    element.disabled = true;
    try {
      await action();
      await load();
    } catch (error) {
      fail(error);
      element.disabled = false;
    }
  });
  return element;
}

function memberRow(member) {
  const row = document.createElement("tr");
  row.dataset.email = member.user.email;
  cell(row, member.user.display_name);
  cell(row, member.user.email);
  const role = document.createElement("td");
  role.append(roleSelect(member.role, isOwner() ? async (value) => {
    try {
      await api.post(`/api/v1/projects/${projectId}/members`, { email: member.user.email, role: value });
      $("invite-result").textContent = t("mem.roleChanged", { email: member.user.email, role: t(`home.role.${value}`) });
    } catch (error) {
      fail(error);
    }
  } : null));
  row.append(role);
  cell(row, formatDate(member.created_at));
  const actions = document.createElement("td");
  if (isOwner()) {
    actions.append(button("mem.remove", async () => {
      if (!window.confirm(t("mem.confirmRemove", { email: member.user.email }))) return;
      await api.del(`/api/v1/projects/${projectId}/members/${member.user.id}`);
    }, true));
  }
  row.append(actions);
  return row;
}

function invitationRow(invitation) {
  const row = document.createElement("tr");
  row.dataset.email = invitation.email;
  cell(row, invitation.email);
  cell(row, t(`home.role.${invitation.role}`));
  cell(row, formatDate(invitation.created_at));
  const actions = document.createElement("td");
  if (isOwner()) {
    actions.append(button("mem.withdraw",
      () => api.del(`/api/v1/projects/${projectId}/invitations/${invitation.id}`), true));
  }
  row.append(actions);
  return row;
}

function showVisibility() {
  const open = project.visibility === "public";
  $("visibility-now").textContent = t(open ? "mem.nowPublic" : "mem.nowPrivate");
  $("visibility-help").textContent = t(open ? "mem.publicHelp" : "mem.privateHelp");
  $("visibility-toggle").textContent = t(open ? "mem.makePrivate" : "mem.makePublic");
  $("visibility-panel").hidden = false;
}

async function load() {
  const [members, invitations] = await Promise.all([
    api.get(`/api/v1/projects/${projectId}/members?per_page=200`),
    api.get(`/api/v1/projects/${projectId}/invitations?per_page=200`)]);
  $("members").replaceChildren(...members.items.map(memberRow));
  $("no-members").hidden = members.items.length > 0;
  $("invitations").replaceChildren(...invitations.items.map(invitationRow));
  $("invitations-panel").hidden = invitations.items.length === 0;
}

$("visibility-toggle").addEventListener("click", async () => {
  try {
    const visibility = project.visibility === "public" ? "private" : "public";
    project = await api.patch(`/api/v1/projects/${projectId}`, { visibility });
    showVisibility();
  } catch (error) {
    fail(error);
  }
});

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const email = form.elements.email.value.trim();
  $("members-error").hidden = true;
  try {
    const made = await api.post(`/api/v1/projects/${projectId}/invitations`, { email, role: form.elements.role.value });
    $("invite-result").textContent = made.status === "accepted"
      ? t("mem.added", { email: made.email })
      : t("mem.invited", { email: made.email, link: `${window.location.origin}/signup` });
    form.elements.email.value = "";
    await load();
  } catch (error) {
    fail(error);
  }
});

try {
  project = await api.get(`/api/v1/projects/${projectId}`);
  $("project-name").textContent = project.name;
  $("invite-role").replaceChildren(...roleSelect("annotator", () => {}).children);
  for (const element of document.querySelectorAll(".owner-only")) element.hidden = !isOwner();
  showVisibility();
  await load();
} catch (error) {
  fail(error);
}
page.dataset.state = "ready";
