// Every string the pages show, in English and Simplified Chinese, and locale-aware numbers, dates and money.
// DOM-free except `translate(root)`, which fills elements marked data-i18n (node tests the rest).

export const LOCALES = { en: "English", "zh-CN": "简体中文" };

const en = {
  "app.name": "Annotator",
  "nav.projects": "Projects",
  "nav.wallet": "Wallet",
  "nav.signOut": "Sign out",
  "nav.language": "Language",
  "login.title": "Sign in",
  "login.email": "Email",
  "login.password": "Password",
  "login.submit": "Sign in",
  "home.welcome": "Welcome, {name}",
  "home.signedInAs": "Signed in as {email}.",
  "home.projects": "Projects",
  "home.none": "No projects are open to you yet.",
  "home.label": "Label",
  "home.dashboard": "Dashboard",
  "home.pays": "pays {amount} an answer",
  "home.unpaid": "unpaid",
  "home.left": "{count} tasks left",
  "home.role.owner": "owner",
  "home.role.manager": "manager",
  "home.role.reviewer": "reviewer",
  "home.role.annotator": "annotator",
  "home.role.public": "open to all",
  "ws.instructions": "Instructions",
  "ws.lease": "Lease {left}",
  "ws.leaseExpired": "Your lease has expired: submitting may still work if the task has room.",
  "ws.pending": "Pending {pending} · available {available}",
  "ws.submit": "Submit",
  "ws.skip": "Skip",
  "ws.flag": "Flag",
  "ws.flagReason": "Why flag this task?",
  "ws.flag.sensitive": "Sensitive content",
  "ws.flag.private_data": "Private data",
  "ws.flag.corrupt": "Corrupt or unreadable",
  "ws.flag.other": "Other",
  "ws.flagNote": "Note (optional)",
  "ws.flagSend": "Flag the task",
  "ws.cancel": "Cancel",
  "ws.done": "No tasks are left for you in this project. Thank you!",
  "ws.help": "Keyboard shortcuts",
  "ws.helpClose": "Close",
  "ws.tools": "Tools",
  "ws.tool.select": "Select",
  "ws.tool.bbox": "Box",
  "ws.tool.polygon": "Polygon",
  "ws.tool.keypoint": "Point",
  "ws.tool.span": "Span",
  "ws.undo": "Undo",
  "ws.redo": "Redo",
  "ws.zoomIn": "Zoom in",
  "ws.zoomOut": "Zoom out",
  "ws.fit": "Fit",
  "ws.labelSearch": "Search labels by name or id",
  "ws.labelSearchHint": "Type to search; ↑↓ and Enter to choose",
  "ws.recent": "Recent",
  "ws.noMatch": "No label matches.",
  "ws.chooseParent": "Not sure? Choose a parent: {path}",
  "ws.objects": "Objects",
  "ws.noObjects": "Nothing drawn yet.",
  "ws.hide": "Hide",
  "ws.show": "Show",
  "ws.delete": "Delete",
  "ws.noLabel": "(no label)",
  "ws.attributes": "Attributes",
  "ws.classify": "Whole item",
  "ws.spans": "Spans",
  "ws.selectText": "Select text, then choose its label.",
  "ws.draftRestored": "Your unsent work on this task was restored.",
  "ws.needLabel": "Choose a label for every object first.",
  "ws.nothing": "Label something first.",
  "ws.submitted": "Submitted.",
  "ws.loading": "Loading…",
  "ws.imageFailed": "The image could not be loaded.",
  "dash.title": "Dashboard",
  "dash.progress": "Progress",
  "dash.tasks": "{done} of {total} tasks complete",
  "dash.exports": "Exports",
  "dash.format": "Format",
  "dash.include": "Include",
  "dash.include.consensus": "consensus only",
  "dash.include.all": "every answer",
  "dash.export": "Export",
  "dash.download": "Download",
  "dash.card": "Dataset card",
  "dash.status.queued": "queued",
  "dash.status.running": "running",
  "dash.status.completed": "completed",
  "dash.status.failed": "failed",
  "dash.noExports": "No exports yet.",
  "wallet.title": "Wallet",
  "wallet.available": "Available",
  "wallet.pending": "Pending",
  "wallet.inFlight": "Payouts in flight",
  "wallet.lifetime": "Earned in all",
  "wallet.entries": "History",
  "wallet.noEntries": "Nothing yet: your answers' pay appears here.",
  "wallet.request": "Request a payout",
  "wallet.amount": "Amount",
  "wallet.requested": "Payout requested.",
  "wallet.when": "When",
  "wallet.what": "What",
  "wallet.amountCol": "Amount",
  "error.generic": "Something went wrong: {detail}",
};

const zh = {
  "app.name": "Annotator 标注平台",
  "nav.projects": "项目",
  "nav.wallet": "钱包",
  "nav.signOut": "退出",
  "nav.language": "语言",
  "login.title": "登录",
  "login.email": "邮箱",
  "login.password": "密码",
  "login.submit": "登录",
  "home.welcome": "欢迎，{name}",
  "home.signedInAs": "当前账号：{email}。",
  "home.projects": "项目",
  "home.none": "暂时没有向你开放的项目。",
  "home.label": "标注",
  "home.dashboard": "概览",
  "home.pays": "每条答案 {amount}",
  "home.unpaid": "无报酬",
  "home.left": "剩余 {count} 个任务",
  "home.role.owner": "所有者",
  "home.role.manager": "管理员",
  "home.role.reviewer": "审核员",
  "home.role.annotator": "标注员",
  "home.role.public": "公开",
  "ws.instructions": "标注说明",
  "ws.lease": "租约剩余 {left}",
  "ws.leaseExpired": "租约已过期：如果任务仍有名额，提交仍可能成功。",
  "ws.pending": "待结算 {pending} · 可提现 {available}",
  "ws.submit": "提交",
  "ws.skip": "跳过",
  "ws.flag": "举报",
  "ws.flagReason": "为什么举报这个任务？",
  "ws.flag.sensitive": "敏感内容",
  "ws.flag.private_data": "隐私数据",
  "ws.flag.corrupt": "损坏或无法读取",
  "ws.flag.other": "其他",
  "ws.flagNote": "备注（可选）",
  "ws.flagSend": "举报任务",
  "ws.cancel": "取消",
  "ws.done": "这个项目里已经没有你可做的任务了，谢谢！",
  "ws.help": "键盘快捷键",
  "ws.helpClose": "关闭",
  "ws.tools": "工具",
  "ws.tool.select": "选择",
  "ws.tool.bbox": "矩形框",
  "ws.tool.polygon": "多边形",
  "ws.tool.keypoint": "关键点",
  "ws.tool.span": "文本片段",
  "ws.undo": "撤销",
  "ws.redo": "重做",
  "ws.zoomIn": "放大",
  "ws.zoomOut": "缩小",
  "ws.fit": "适应窗口",
  "ws.labelSearch": "按名称或编号搜索标签",
  "ws.labelSearchHint": "输入搜索；↑↓ 和回车选择",
  "ws.recent": "最近使用",
  "ws.noMatch": "没有匹配的标签。",
  "ws.chooseParent": "不确定？选择上级：{path}",
  "ws.objects": "对象",
  "ws.noObjects": "还没有绘制任何对象。",
  "ws.hide": "隐藏",
  "ws.show": "显示",
  "ws.delete": "删除",
  "ws.noLabel": "（无标签）",
  "ws.attributes": "属性",
  "ws.classify": "整体分类",
  "ws.spans": "文本片段",
  "ws.selectText": "选中文本，然后选择它的标签。",
  "ws.draftRestored": "已恢复你在此任务上未提交的工作。",
  "ws.needLabel": "请先为每个对象选择标签。",
  "ws.nothing": "请先进行标注。",
  "ws.submitted": "已提交。",
  "ws.loading": "加载中…",
  "ws.imageFailed": "图片无法加载。",
  "dash.title": "项目概览",
  "dash.progress": "进度",
  "dash.tasks": "已完成 {done} / {total} 个任务",
  "dash.exports": "导出",
  "dash.format": "格式",
  "dash.include": "内容",
  "dash.include.consensus": "仅共识结果",
  "dash.include.all": "全部答案",
  "dash.export": "导出",
  "dash.download": "下载",
  "dash.card": "数据集说明",
  "dash.status.queued": "排队中",
  "dash.status.running": "进行中",
  "dash.status.completed": "已完成",
  "dash.status.failed": "失败",
  "dash.noExports": "还没有导出。",
  "wallet.title": "钱包",
  "wallet.available": "可提现",
  "wallet.pending": "待结算",
  "wallet.inFlight": "提现处理中",
  "wallet.lifetime": "累计收入",
  "wallet.entries": "明细",
  "wallet.noEntries": "暂无记录：你的答案报酬会显示在这里。",
  "wallet.request": "申请提现",
  "wallet.amount": "金额",
  "wallet.requested": "已申请提现。",
  "wallet.when": "时间",
  "wallet.what": "说明",
  "wallet.amountCol": "金额",
  "error.generic": "出错了：{detail}",
};

export const MESSAGES = { en, "zh-CN": zh };
let current = "en";

// The locale to use: a supported one, else its language's, else English ("zh" and "zh-Hans-CN" are zh-CN).
export function pickLocale(wanted) {
  if (typeof wanted !== "string") return "en";
  if (MESSAGES[wanted]) return wanted;
  return wanted.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function setLocale(wanted) {
  current = pickLocale(wanted);
  return current;
}

export function locale() { return current; }

// The message for `key` in the current locale (English if it has none), with {name} placeholders filled.
export function t(key, params = {}) {
  const template = MESSAGES[current][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(current, options).format(value);
}

// How many minor units a currency's unit has, as a power of ten: 2 for CNY (fen), 0 for JPY.
export function currencyDigits(currency = "CNY") {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

// Money kept in minor units (fen, cents) shown in the currency's own way: 1234 CNY is "¥12.34".
export function formatMoney(minor, currency = "CNY") {
  const digits = currencyDigits(currency);
  return new Intl.NumberFormat(current, { style: "currency", currency }).format(minor / 10 ** digits);
}

export function formatDate(iso, options = { dateStyle: "medium", timeStyle: "short" }) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : new Intl.DateTimeFormat(current, options).format(date);
}

export function formatPercent(share, digits = 0) {
  return new Intl.NumberFormat(current, { style: "percent", maximumFractionDigits: digits }).format(share);
}

// Fill the page's fixed strings: data-i18n (text), data-i18n-placeholder, -title and -aria-label.
export function translate(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const attribute of ["placeholder", "title", "aria-label"]) {
    const data = `i18n${attribute.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`;
    for (const element of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      element.setAttribute(attribute, t(element.dataset[data]));
    }
  }
  root.documentElement && (root.documentElement.lang = current);
}
