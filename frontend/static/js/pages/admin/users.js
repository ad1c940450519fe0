// The Admin page's Users tab: accounts searched by a piece of the e-mail or name and filtered by status, a page
// at a time, each with its flags and the buttons to deactivate or reactivate it and to grant or take back the
// administrator's right (never on your own row: the server refuses that too).
import { api } from "../../lib/api.js";
import { formatDate, t } from "../../lib/i18n.js";
import { queryString } from "../../lib/paging.js";
import { cell } from "../../components/table.js";
import { showPager, startPager } from "../../components/pager.js";

const $ = (id) => document.getElementById(id);
const PER_PAGE = 20;
const state = { page: 1, me: null, fail: () => {} };

function pill(text, className) {
  const span = document.createElement("span");
  span.className = `pill ${className}`;
  span.textContent = text;
  return span;
}

// An action button: asks first when `confirmKey` is given, then changes the account and reloads the page.
function action(user, key, change, done, confirmKey) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = key === "deactivate" || key === "removeAdmin" ? "link danger" : "link";
  button.dataset.action = key;
  button.textContent = t(`admin.${key}`);
  button.addEventListener("click", async () => {
    if (confirmKey && !window.confirm(t(confirmKey, { email: user.email }))) return;
    button.disabled = true;
    try {
      await change();
      $("users-result").textContent = t(`admin.done.${done}`, { email: user.email });
    } catch (error) {
      state.fail(error);
    }
    await load();
  });
  return button;
}

function userRow(user) {
  const row = document.createElement("tr");
  row.dataset.email = user.email;
  const who = cell(row, "");
  who.className = "account";
  const name = document.createElement("strong");
  name.textContent = user.display_name;
  const email = document.createElement("span");
  email.className = "muted small";
  email.textContent = user.email;
  who.append(name, email);
  cell(row, formatDate(user.created_at, { dateStyle: "medium" }), "when");
  cell(row, user.last_active_at ? formatDate(user.last_active_at, { dateStyle: "short", timeStyle: "short" })
    : t("admin.never"), "when");
  const flags = cell(row, "");
  flags.className = "flags";
  flags.append(user.is_active ? pill(t("admin.isActive"), "") : pill(t("admin.isDeactivated"), "off"));
  if (user.is_admin) flags.append(" ", pill(t("admin.isAdmin"), "admin"));
  const actions = cell(row, "");
  actions.className = "actions-cell";
  if (user.id === state.me.id) {
    actions.append(pill(t("admin.you"), "you"));
    return row;
  }
  const base = `/api/v1/admin/users/${user.id}`;
  actions.append(user.is_active
    ? action(user, "deactivate", () => api.post(`${base}/deactivate`), "deactivated", "admin.confirmDeactivate")
    : action(user, "activate", () => api.post(`${base}/activate`), "activated"));
  actions.append(" ", user.is_admin
    ? action(user, "removeAdmin", () => api.del(`${base}/admin`), "revoked")
    : action(user, "makeAdmin", () => api.post(`${base}/admin`), "granted", "admin.confirmMakeAdmin"));
  return row;
}

export async function load() {
  const query = queryString({ q: $("user-q").value.trim(), status: $("user-status").value, page: state.page,
    per_page: PER_PAGE });
  const answer = await api.get(`/api/v1/admin/users?${query}`);
  if (answer.items.length === 0 && state.page > 1) {  // the last row of the last page went away: step back
    state.page -= 1;
    return load();
  }
  $("users").replaceChildren(...answer.items.map(userRow));
  $("no-users").hidden = answer.items.length > 0;
  showPager($("users-pager"), answer);
}

// Wire the search (as you type, a moment after the last key), the filter and the pager.
export function startUsers(me, fail) {
  Object.assign(state, { me, fail });
  const again = () => { state.page = 1; load().catch(fail); };
  let timer = null;
  $("user-q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(again, 250); });
  $("user-search").addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(timer); again(); });
  $("user-status").addEventListener("change", again);
  startPager($("users-pager"), (step) => { state.page += step; load().catch(fail); });
}
