/* The command office's page: sign-in, overview with charts, lists, the person file, risk areas.
 *
 * Hand-written, no framework and no build step: the page reads the API under /api/v1 with the staff
 * token it signs in for (kept in sessionStorage: closing the tab signs out). Chinese first; the
 * language button switches every text to English (the choice is kept in localStorage).
 *
 * Lists are declared in LISTS: a path, its filters, its columns. An export of a list is one more
 * field (`exportPath`, and `exportRoles` who may use it): the list then shows CSV and Excel buttons that
 * download the export with its current filters.
 */
(function () {
  "use strict";

  const TEXT = {
    zh: {
      brand: "疫情防控指挥平台", "nav.overview": "概况", "nav.people": "人员", "nav.leads": "线索", "nav.follow_ups": "随访",
      "nav.gatherings": "聚集性活动审批", "nav.risk_areas": "风险地区", signout: "退出", lang: "English",
      "signin.title": "工作人员登录", "signin.username": "用户名", "signin.password": "密码", "signin.submit": "登录",
      "signin.failed": "用户名或密码不正确。", "error.load": "数据加载失败", "error.unavailable": "该功能暂未开通。",
      overview: "防控概况", whole_country: "全国", people: "登记人员", green: "绿码", yellow: "黄码", red: "红码",
      tests_overdue: "核酸检测逾期", leads_open: "待排查线索", leads_overdue: "逾期线索", follow_ups_missed: "今日漏访",
      reports: "今日报告（14:00 前）", submitted: "已报", expected: "应报", late: "迟报",
      "chart.colors": "下级地区健康码分布", "chart.positives": "近14日新增阳性", "chart.measures": "在管人员（按管控措施）",
      "chart.reports": "下级地区报告情况", positives: "阳性", measures: "人数", place: "地区", code: "代码",
      drill: "下级", list: "名单", no_data: "暂无数据",
      "kind.centralized_quarantine": "集中隔离", "kind.home_quarantine": "居家隔离",
      "kind.home_health_monitoring": "居家健康监测", "kind.daily_health_monitoring": "日常健康监测",
      "color.green": "绿码", "color.yellow": "黄码", "color.red": "红码",
      "list.people": "人员名单", "list.leads": "排查线索", "list.follow_ups": "随访任务", "list.gatherings": "待审批的聚集性活动",
      "list.risk_areas": "中高风险地区", region_code: "地区代码", health_code: "健康码", measure: "管控措施", overdue: "检测逾期",
      any: "全部", yes: "是", name: "姓名", id_number: "身份证号", phone: "电话", address: "住址", status: "状态",
      search: "查询", next: "下一页", previous: "上一页", export: "导出", page: "第 {n} 页",
      date: "日期", slot: "时段", due_by: "截止时间", person: "人员", title: "名称", starts_at: "开始时间",
      attendees: "预计人数", venue: "地点", level: "风险等级", effective_from: "生效时间", affected_people: "涉及人员",
      "level.high": "高风险", "level.medium": "中风险", "level.low": "低风险", local_cases: "本土病例",
      "status.due": "待随访", "status.missed": "漏访", "status.escalated": "已上报", "status.done": "已完成",
      "status.pending_approval": "待审批", "status.open": "待排查", "status.closed": "已办结",
      "status.recorded": "已登记", "status.filed": "已备案", "status.approved": "已批准", "status.rejected": "未批准",
      "status.cancelled": "已取消", checked_in_at: "签到时间", exposure: "涉阳",
      file: "一人一档", reveal: "查看完整信息（将记录审计）", revealed: "已显示完整信息，本次查看已记录审计。",
      health_reasons: "赋码原因", measures_list: "管控措施", tests: "核酸检测", travel: "行程记录", gatherings: "参加的聚集性活动",
      notifications: "通知记录", staff: "包保责任人（五包一）", audit: "审计记录", kind: "类别", rule: "依据",
      starts_on: "开始", ends_on: "结束", barcode: "条码", collected_at: "采样时间", site: "采样点", result: "结果",
      channel: "渠道", created_at: "时间", actor: "操作人", action: "操作", at: "时间", missing: "缺岗",
      not_available: "暂无此项数据来源。", forbidden: "您无权查看此项。",
      "duty.grid_worker": "网格员", "duty.village_cadre": "村（社区）干部", "duty.doctor": "医生", "duty.police": "民警",
      "duty.volunteer": "志愿者", "duty.township_cadre": "乡镇（街道）干部",
      "m.active": "执行中", "m.scheduled": "待执行", "m.released": "已解除", "m.completed": "已期满",
      "r.pending": "待出结果", "r.negative": "阴性", "r.positive": "阳性", "r.pool_positive": "混管阳性", "r.invalid": "无效",
    },
    en: {
      brand: "Epidemic Command Console", "nav.overview": "Overview", "nav.people": "People", "nav.leads": "Leads",
      "nav.follow_ups": "Follow-ups", "nav.gatherings": "Gathering approvals", "nav.risk_areas": "Risk areas", signout: "Sign out",
      lang: "中文", "signin.title": "Staff sign-in", "signin.username": "Username", "signin.password": "Password",
      "signin.submit": "Sign in", "signin.failed": "Wrong username or password.", "error.load": "Could not load",
      "error.unavailable": "Not available yet.", overview: "Overview", whole_country: "Whole country", people: "People",
      green: "Green", yellow: "Yellow", red: "Red", tests_overdue: "Tests overdue", leads_open: "Open leads",
      leads_overdue: "Overdue leads", follow_ups_missed: "Follow-ups missed today", reports: "Reports today (by 14:00)",
      submitted: "Submitted", expected: "Expected", late: "Late", "chart.colors": "Health codes by place",
      "chart.positives": "New positives, last 14 days", "chart.measures": "People under measures, by kind",
      "chart.reports": "Reports by place", positives: "Positives", measures: "People", place: "Place", code: "Code",
      drill: "Drill down", list: "List", no_data: "No data",
      "kind.centralized_quarantine": "Centralized quarantine", "kind.home_quarantine": "Home quarantine",
      "kind.home_health_monitoring": "Home health monitoring", "kind.daily_health_monitoring": "Daily health monitoring",
      "color.green": "Green", "color.yellow": "Yellow", "color.red": "Red", "list.people": "People", "list.leads": "Leads",
      "list.follow_ups": "Follow-ups", "list.gatherings": "Gatherings awaiting approval", "list.risk_areas": "Risk areas",
      region_code: "Region code", health_code: "Health code", measure: "Measure", overdue: "Test overdue", any: "Any",
      yes: "Yes", name: "Name", id_number: "ID number", phone: "Phone", address: "Address", status: "Status",
      search: "Search", next: "Next", previous: "Previous", export: "Export", page: "Page {n}", date: "Date",
      slot: "Slot", due_by: "Due by", person: "Person", title: "Title", starts_at: "Starts", attendees: "Expected",
      venue: "Venue", level: "Level", effective_from: "Effective from", affected_people: "People affected",
      "level.high": "High", "level.medium": "Medium", "level.low": "Low", local_cases: "Local cases",
      "status.due": "Due", "status.missed": "Missed", "status.escalated": "Escalated", "status.done": "Done",
      "status.pending_approval": "Awaiting approval", "status.open": "Open", "status.closed": "Closed",
      "status.recorded": "Recorded", "status.filed": "Filed", "status.approved": "Approved", "status.rejected": "Rejected",
      "status.cancelled": "Cancelled", checked_in_at: "Checked in", exposure: "Positive attendee",
      file: "Person file", reveal: "Reveal identity (audited)", revealed: "Identity revealed; this reveal is audited.",
      health_reasons: "Why this code", measures_list: "Measures", tests: "Tests", travel: "Travel records",
      gatherings: "Gatherings attended", notifications: "Notifications", staff: "Responsible staff", audit: "Audit trail",
      kind: "Kind", rule: "Rule", starts_on: "From", ends_on: "To", barcode: "Barcode", collected_at: "Collected",
      site: "Site", result: "Result", channel: "Channel", created_at: "Time", actor: "Actor", action: "Action", at: "Time",
      missing: "Vacant", not_available: "No source for this yet.", forbidden: "You may not see this.",
      "duty.grid_worker": "Grid worker", "duty.village_cadre": "Village cadre", "duty.doctor": "Doctor", "duty.police": "Police",
      "duty.volunteer": "Volunteer", "duty.township_cadre": "Township cadre",
      "m.active": "In force", "m.scheduled": "Scheduled", "m.released": "Released", "m.completed": "Completed",
      "r.pending": "Pending", "r.negative": "Negative", "r.positive": "Positive", "r.pool_positive": "Pool positive",
      "r.invalid": "Invalid",
    },
  };
  const KINDS = ["centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring"];
  const COLORS = { green: "#2e9d5b", yellow: "#e0a800", red: "#d64541", blue: "#1d5fa8", grey: "#a9b6c4" };

  let lang = localStorage.getItem("cordon.lang") || "zh";
  const t = (key, vars) => {
    let text = (TEXT[lang] && TEXT[lang][key]) || TEXT.zh[key] || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.replace("{" + k + "}", v);
    return text;
  };
  const $ = (sel, root) => (root || document).querySelector(sel);
  const esc = (value) => String(value == null ? "" : value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const view = () => $("#view");
  const session = {
    get token() { return sessionStorage.getItem("cordon.token"); },
    get me() { try { return JSON.parse(sessionStorage.getItem("cordon.me") || "null"); } catch (e) { return null; } },
  };

  class ApiError extends Error {
    constructor(status, problem) { super((problem && (problem.title || problem.detail)) || String(status)); this.status = status; this.problem = problem; }
  }

  async function api(path, params) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(params || {})) if (v !== "" && v != null) url.searchParams.set(k, v);
    const response = await fetch(url, { headers: { Authorization: "Bearer " + session.token, "Accept-Language": lang === "zh" ? "zh-CN" : "en" } });
    if (response.status === 401) { signOut(); throw new ApiError(401); }
    const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  // ---- shell ---------------------------------------------------------------------------------------
  function translateStatic() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    $("#lang").textContent = t("lang");
    document.title = t("brand");
  }

  function signOut() {
    sessionStorage.removeItem("cordon.token");
    sessionStorage.removeItem("cordon.me");
    showSignIn();
  }

  function showSignIn() {
    $("#nav").hidden = true; $("#signout").hidden = true; $("#who").textContent = "";
    $("#signin").hidden = false; view().innerHTML = "";
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const response = await fetch("/api/v1/auth/token", {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: form.username.value, password: form.password.value }),
    });
    if (!response.ok) { $("#signin-error").textContent = t("signin.failed"); return; }
    const body = await response.json();
    sessionStorage.setItem("cordon.token", body.access_token);
    sessionStorage.setItem("cordon.me", JSON.stringify({ username: form.username.value, role: body.role, regions: body.regions }));
    form.reset(); $("#signin-error").textContent = "";
    if (!location.hash || location.hash === "#/") location.hash = "#/overview"; else route();
  }

  function parseHash() {
    const [path, query] = (location.hash.replace(/^#/, "") || "/overview").split("?");
    return { parts: path.split("/").filter(Boolean), params: Object.fromEntries(new URLSearchParams(query || "")) };
  }

  let generation = 0; // each route() counts one up: a slower earlier one must not paint over a later one
  const stale = (mine) => mine !== generation;

  async function route() {
    const mine = ++generation;
    translateStatic();
    if (!session.token) { showSignIn(); return; }
    $("#signin").hidden = true; $("#nav").hidden = false; $("#signout").hidden = false;
    const me = session.me || {};
    $("#who").textContent = (me.username || "") + (me.regions && me.regions.length ? " · " + me.regions.join(",") : "");
    const { parts, params } = parseHash();
    document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === "#/" + parts[0]));
    view().innerHTML = '<p class="muted">…</p>';
    try {
      if (parts[0] === "person" && parts[1]) await personFile(parts[1], params, mine);
      else if (LISTS[parts[0]]) await listView(parts[0], params, mine);
      else await overview(params, mine);
    } catch (error) {
      if (error.status === 401 || stale(mine)) return;
      view().innerHTML = `<p class="error">${esc(t("error.load"))}: ${esc(error.message)}</p>`;
    }
  }

  // ---- overview ------------------------------------------------------------------------------------
  const card = (key, value, cls) =>
    `<div class="card ${cls || ""}" data-stat="${key}"><div class="label">${esc(t(key))}</div><div class="value">${esc(value)}</div></div>`;

  async function overview(params, mine) {
    const query = { region_code: params.region || undefined };
    const [o, places] = await Promise.all([api("/api/v1/stats/overview", query), api("/api/v1/stats/by-place", query)]);
    const region = o.region_code;
    const crumbs = region ? await crumbsOf(region) : "";
    if (stale(mine)) return;
    const listLink = (extra) => "#/people?" + new URLSearchParams({ ...(region ? { region_code: region } : {}), ...extra });
    view().innerHTML = `
      <h1 data-region="${esc(region || "")}">${esc(t("overview"))} · ${crumbs || esc(t("whole_country"))} <span class="muted">${esc(o.date)}</span></h1>
      <div class="cards">
        ${card("people", o.people)}
        ${card("green", o.by_color.green, "green")}${card("yellow", o.by_color.yellow, "yellow")}${card("red", o.by_color.red, "red")}
        ${card("tests_overdue", o.tests_overdue)}${card("leads_open", o.leads_open)}${card("leads_overdue", o.leads_overdue)}
        ${card("follow_ups_missed", o.follow_ups_missed)}
        <div class="card" data-stat="reports"><div class="label">${esc(t("reports"))}</div>
          <div class="value">${esc(o.reports.submitted)} / ${esc(o.reports.expected)}</div>
          <div class="muted">${esc(t("late"))} ${esc(o.reports.late)}</div></div>
      </div>
      <div class="charts">
        <div class="chart"><h2>${esc(t("chart.colors"))}</h2><canvas id="chart-colors"></canvas></div>
        <div class="chart"><h2>${esc(t("chart.positives"))}</h2><canvas id="chart-positives"></canvas></div>
        <div class="chart"><h2>${esc(t("chart.measures"))}</h2><canvas id="chart-measures"></canvas></div>
        <div class="chart"><h2>${esc(t("chart.reports"))}</h2><canvas id="chart-reports"></canvas></div>
      </div>
      <h2>${esc(t("place"))}</h2>
      <table id="places"><thead><tr><th>${esc(t("place"))}</th><th>${esc(t("people"))}</th><th>${esc(t("green"))}</th>
        <th>${esc(t("yellow"))}</th><th>${esc(t("red"))}</th><th>${esc(t("tests_overdue"))}</th><th>${esc(t("leads_open"))}</th>
        <th>${esc(t("reports"))}</th><th></th></tr></thead><tbody>
        ${places.children.map((p) => `<tr data-place="${esc(p.region_code)}">
          <td>${p.region_code === region ? esc(t("place")) + " (" + esc(p.region_code) + ")" : `<a href="#/overview?region=${esc(p.region_code)}">${esc(p.name || p.region_code)}</a>`}</td>
          <td>${p.people}</td><td>${p.by_color.green}</td><td>${p.by_color.yellow}</td><td>${p.by_color.red}</td>
          <td>${p.tests_overdue}</td><td>${p.leads_open}</td><td>${p.reports.submitted} / ${p.reports.expected}</td>
          <td><a href="${listLink({ region_code: p.region_code })}">${esc(t("list"))}</a></td></tr>`).join("") ||
          `<tr><td colspan="9" class="muted">${esc(t("no_data"))}</td></tr>`}
      </tbody></table>`;
    const labels = places.children.map((p) => p.name || p.region_code);
    CordonCharts.bars($("#chart-colors"), {
      labels, stacked: true, empty: t("no_data"),
      series: ["green", "yellow", "red"].map((c) => ({ name: t("color." + c), color: COLORS[c], values: places.children.map((p) => p.by_color[c]) })),
    });
    CordonCharts.bars($("#chart-positives"), {
      labels: o.positives_by_day.map((d) => d.date.slice(5)),
      series: [{ name: t("positives"), color: COLORS.red, values: o.positives_by_day.map((d) => d.count) }],
    });
    const kinds = KINDS.concat(Object.keys(o.measures_active).filter((k) => !KINDS.includes(k)));
    CordonCharts.bars($("#chart-measures"), {
      labels: kinds.map((k) => t("kind." + k)),
      series: [{ name: t("measures"), color: COLORS.blue, values: kinds.map((k) => o.measures_active[k] || 0) }],
    });
    const units = places.children.filter((p) => p.reports.expected);
    CordonCharts.bars($("#chart-reports"), {
      labels: units.map((p) => p.name || p.region_code), empty: t("no_data"),
      series: [
        { name: t("expected"), color: COLORS.grey, values: units.map((p) => p.reports.expected) },
        { name: t("submitted"), color: COLORS.green, values: units.map((p) => p.reports.submitted) },
      ],
    });
  }

  async function crumbsOf(code) {
    try {
      const place = await api("/api/v1/regions/" + encodeURIComponent(code));
      return `<span class="crumbs">${esc(place.name || code)} <span class="muted">${esc(code)}</span></span>`;
    } catch (e) { return esc(code); }
  }

  // ---- lists ---------------------------------------------------------------------------------------
  // 张三 -> 张*, 欧阳娜娜 -> 欧**娜 (the server's rule, cordon/pii.py), for lists whose API answers a name as is.
  const maskName = (name) => {
    const v = String(name || "").trim();
    if (!v) return "";
    return v.length <= 1 ? "*" : v.length === 2 ? v[0] + "*" : v[0] + "*".repeat(v.length - 2) + v[v.length - 1];
  };
  const colorCell = (c) => `<span class="dot ${esc(c)}"></span>${esc(t("color." + c))}`;
  const personLink = (id, text) => `<a href="#/person/${esc(id)}">${esc(text || String(id).slice(0, 8))}</a>`;
  const when = (v) => (v ? esc(String(v).replace("T", " ").slice(0, 16)) : "");

  const LISTS = {
    people: {
      title: "list.people", path: "/api/v1/persons", exportPath: "/api/v1/persons/export", exportRoles: ["admin", "official"],
      filters: [
        { name: "region_code", kind: "text" },
        { name: "health_code", options: ["green", "yellow", "red"], label: (v) => t("color." + v) },
        { name: "measure", options: KINDS, label: (v) => t("kind." + v) },
        { name: "overdue", options: ["true"], label: () => t("yes") },
      ],
      columns: [
        ["name", (p) => `<span class="name">${personLink(p.id, p.name_masked)}</span>`],
        ["id_number", (p) => esc(p.id_number_masked)], ["phone", (p) => esc(p.phone_masked)],
        ["region_code", (p) => esc(p.region_code)], ["health_code", (p) => colorCell(p.health_code.color)],
      ],
      row: (p) => `data-person="${esc(p.id)}"`,
    },
    leads: {
      title: "list.leads", path: "/api/v1/leads", exportPath: "/api/v1/leads/export", exportRoles: ["admin", "official"],
      filters: [
        { name: "region_code", kind: "text" }, { name: "status", options: ["open", "closed"], label: (v) => t("status." + v) },
        { name: "overdue", options: ["true"], label: () => t("yes") },
      ],
      columns: [
        ["name", (l) => esc(maskName(l.name))], ["phone", (l) => esc(l.phone_masked)], ["id_number", (l) => esc(l.id_number_masked)],
        ["region_code", (l) => esc(l.region_code)], ["status", (l) => esc(t("status." + l.status))], ["due_by", (l) => when(l.due_at)],
      ],
    },
    "follow-ups": {
      title: "list.follow_ups", path: "/api/v1/follow-ups",
      filters: [{ name: "region_code", kind: "text" }, { name: "status", options: ["due", "missed"], label: (v) => t("status." + v), required: true }],
      columns: [
        ["person", (s) => personLink(s.person_id)], ["region_code", (s) => esc(s.region_code)], ["date", (s) => esc(s.date)],
        ["slot", (s) => esc(s.slot)], ["due_by", (s) => when(s.due_by)], ["status", (s) => esc(t("status." + s.status))],
      ],
    },
    gatherings: {
      title: "list.gatherings", path: "/api/v1/gatherings", fixed: { status: "pending_approval" },
      filters: [{ name: "region_code", kind: "text" }],
      columns: [
        ["title", (g) => esc(g.title)], ["starts_at", (g) => when(g.starts_at)], ["attendees", (g) => esc(g.expected_attendees)],
        ["venue", (g) => esc((g.venue && g.venue.address) || "")], ["region_code", (g) => esc(g.venue && g.venue.region_code)],
        ["status", (g) => esc(t("status." + g.status))],
      ],
    },
    "risk-areas": {
      title: "list.risk_areas", path: "/api/v1/risk-areas",
      filters: [{ name: "level", options: ["high", "medium", "low"], label: (v) => t("level." + v) }],
      columns: [
        ["place", (a) => esc(a.name || "")], ["region_code", (a) => esc(a.region_code)], ["level", (a) => esc(t("level." + a.level))],
        ["local_cases", (a) => (a.local_cases ? esc(t("yes")) : "")], ["effective_from", (a) => when(a.effective_from)],
        ["affected_people", (a) => esc(a.affected_people == null ? "" : a.affected_people)],
      ],
    },
  };

  async function listView(name, params, mine) {
    const spec = LISTS[name];
    const filters = {};
    for (const f of spec.filters) {
      const v = params[f.name] || (f.required ? f.options[0] : "");
      if (v) filters[f.name] = v;
    }
    // The cursors of the pages before this one ("-": the first page, which has none).
    const trail = (params.trail || "").split(",").filter(Boolean);
    const pageSize = Math.min(100, Math.max(1, parseInt(params.limit, 10) || 20));
    let page;
    try {
      page = await api(spec.path, { ...spec.fixed, ...filters, cursor: params.cursor, limit: pageSize });
    } catch (error) {
      if (stale(mine)) return;
      if (error.status === 404 || error.status === 405) { view().innerHTML = `<h1>${esc(t(spec.title))}</h1><p class="notice">${esc(t("error.unavailable"))}</p>`; return; }
      throw error;
    }
    if (stale(mine)) return;
    const link = (extra) => "#/" + name + "?" + new URLSearchParams({ ...filters, ...(params.limit ? { limit: params.limit } : {}), ...extra });
    const me = session.me || {};
    const canExport = spec.exportPath && (!spec.exportRoles || spec.exportRoles.includes(me.role));
    view().innerHTML = `
      <h1>${esc(t(spec.title))}</h1>
      <form class="toolbar" id="filters">
        ${spec.filters.map((f) => `<label>${esc(t(f.name))}${f.options
          ? `<select name="${f.name}">${f.required ? "" : `<option value="">${esc(t("any"))}</option>`}${f.options.map((o) =>
              `<option value="${esc(o)}" ${filters[f.name] === o ? "selected" : ""}>${esc(f.label(o))}</option>`).join("")}</select>`
          : `<input name="${f.name}" value="${esc(filters[f.name] || "")}" maxlength="15">`}</label>`).join("")}
        <button type="submit">${esc(t("search"))}</button>
        ${canExport ? ["csv", "xlsx"].map((f) => `<button type="button" class="export" data-format="${f}">${esc(t("export"))} ${f === "csv" ? "CSV" : "Excel"}</button>`).join("") : ""}
      </form>
      <table id="list" data-list="${esc(name)}"><thead><tr>${spec.columns.map(([k]) => `<th>${esc(t(k))}</th>`).join("")}</tr></thead>
      <tbody>${page.items.map((item) => `<tr ${spec.row ? spec.row(item) : ""}>${spec.columns.map(([, cell]) => `<td>${cell(item)}</td>`).join("")}</tr>`).join("") ||
        `<tr><td colspan="${spec.columns.length}" class="muted">${esc(t("no_data"))}</td></tr>`}</tbody></table>
      <div class="pager">
        <button type="button" id="previous" ${trail.length ? "" : "disabled"}>${esc(t("previous"))}</button>
        <span class="muted">${esc(t("page", { n: trail.length + 1 }))}</span>
        <button type="button" id="next" ${page.next_cursor ? "" : "disabled"}>${esc(t("next"))}</button>
      </div>`;
    $("#filters").addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = Object.fromEntries([...new FormData(event.target)].filter(([, v]) => v));
      location.hash = "#/" + name + "?" + new URLSearchParams(chosen);
    });
    document.querySelectorAll("#filters .export").forEach((button) => button.addEventListener("click", () =>
      download(spec.exportPath, { ...filters, format: button.dataset.format }, button)));
    $("#next").addEventListener("click", () => {
      location.hash = link({ cursor: page.next_cursor, trail: [...trail, params.cursor || "-"].join(",") });
    });
    $("#previous").addEventListener("click", () => {
      const before = trail.slice(0, -1), cursor = trail[trail.length - 1];
      location.hash = link({ ...(cursor && cursor !== "-" ? { cursor } : {}), ...(before.length ? { trail: before.join(",") } : {}) });
    });
  }

  // An export streams from the API with the staff token (a plain link would carry none), then is saved.
  async function download(path, params, button) {
    button.disabled = true;
    try {
      const url = new URL(path, location.origin);
      for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
      const response = await fetch(url, { headers: { Authorization: "Bearer " + session.token, "Accept-Language": lang === "zh" ? "zh-CN" : "en" } });
      if (!response.ok) throw new ApiError(response.status);
      const disposition = response.headers.get("content-disposition") || "";
      const named = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = named ? decodeURIComponent(named[1]) : "export." + params.format;
      document.body.appendChild(link); link.click(); link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    } catch (error) {
      alert(t("error.load") + ": " + error.message);
    } finally {
      button.disabled = false;
    }
  }

  // ---- the person file (一人一档) --------------------------------------------------------------------
  async function section(title, load, render) {
    try {
      const body = await load();
      const items = Array.isArray(body) ? body : body && body.items ? body.items : body;
      return `<h2>${esc(t(title))}</h2>${render(items)}`;
    } catch (error) {
      const note = error.status === 403 ? t("forbidden") : error.status === 404 || error.status === 405 ? t("not_available") : t("error.load");
      return `<h2>${esc(t(title))}</h2><p class="muted">${esc(note)}</p>`;
    }
  }

  const table = (rows, columns) => rows && rows.length
    ? `<table><thead><tr>${columns.map(([k]) => `<th>${esc(t(k))}</th>`).join("")}</tr></thead><tbody>${rows.map((r) =>
        `<tr>${columns.map(([, cell]) => `<td>${cell(r)}</td>`).join("")}</tr>`).join("")}</tbody></table>`
    : `<p class="muted">${esc(t("no_data"))}</p>`;

  async function personFile(id, params, mine) {
    const reveal = params.reveal === "true";
    const p = await api("/api/v1/persons/" + encodeURIComponent(id), reveal ? { reveal: "true" } : {});
    const base = "/api/v1/persons/" + encodeURIComponent(id);
    const panels = await Promise.all([
      section("health_reasons", () => api(base + "/health-code"), (code) => `<p>${colorCell(code.color)}</p>` +
        table(code.reasons, [["rule", (r) => esc(r.detail || r.rule)], ["ends_on", (r) => esc(r.until || "")]])),
      section("staff", () => api(base + "/responsible-staff"), (s) => `<dl>${Object.entries(s.staff || {}).map(([duty, who]) =>
        `<dt>${esc(t("duty." + duty))}</dt><dd>${who ? esc(who) : `<span class="muted">${esc(t("missing"))}</span>`}</dd>`).join("")}</dl>`),
      section("measures_list", () => api(base + "/measures"), (rows) => table(rows, [
        ["kind", (m) => esc(t("kind." + m.kind))], ["rule", (m) => esc(m.rule)], ["starts_on", (m) => esc(m.starts_on)],
        ["ends_on", (m) => esc(m.ends_on)], ["status", (m) => esc(t("m." + m.status))]])),
      section("tests", () => api(base + "/tests", { limit: 20 }), (rows) => table(rows, [
        ["barcode", (s) => esc(s.barcode)], ["collected_at", (s) => when(s.collected_at)], ["site", (s) => esc(s.site)],
        ["result", (s) => esc(t("r." + s.status))]])),
      section("travel", () => api(base + "/travel-records", { limit: 20 }), (rows) => table(rows, [
        ["region_code", (r) => esc(r.region_code)], ["starts_on", (r) => esc(r.first_seen)], ["ends_on", (r) => esc(r.last_seen)]])),
      section("gatherings", () => api(base + "/gatherings", { limit: 20 }), (rows) => table(rows, [
        ["title", (g) => esc(g.title)], ["starts_at", (g) => when(g.starts_at)], ["checked_in_at", (g) => when(g.checked_in_at)],
        ["status", (g) => esc(t("status." + g.status))], ["exposure", (g) => (g.exposure ? esc(t("yes")) : "")]])),
      section("notifications", () => api("/api/v1/notifications", { recipient: id, limit: 20 }), (rows) => table(rows, [
        ["created_at", (n) => when(n.created_at)], ["title", (n) => esc(n.title)], ["channel", (n) => esc(n.channel)],
        ["status", (n) => esc(n.status)]])),
      section("audit", () => api("/api/v1/audit", { entity: "person", entity_id: id, limit: 20 }), (rows) => table(rows, [
        ["at", (a) => when(a.at)], ["actor", (a) => esc(a.actor)], ["action", (a) => esc(a.action)]])),
    ]);
    if (stale(mine)) return;
    view().innerHTML = `
      <h1>${esc(t("file"))}</h1>
      <div class="file">
        <div class="panel wide">
          <dl>
            <dt>${esc(t("name"))}</dt><dd id="person-name">${esc(reveal ? p.name : p.name_masked)}</dd>
            <dt>${esc(t("id_number"))}</dt><dd id="person-id-number">${esc(p.id_number || p.id_number_masked)}</dd>
            <dt>${esc(t("phone"))}</dt><dd>${esc(p.phone || p.phone_masked || "")}</dd>
            <dt>${esc(t("region_code"))}</dt><dd>${esc(p.region_code)}</dd>
            <dt>${esc(t("health_code"))}</dt><dd>${colorCell(p.health_code.color)}</dd>
          </dl>
          ${reveal ? `<p class="notice">${esc(t("revealed"))}</p>` : `<p><button type="button" class="reveal" id="reveal">${esc(t("reveal"))}</button></p>`}
        </div>
        ${panels.map((html, i) => `<div class="panel ${i >= 2 ? "wide" : ""}">${html}</div>`).join("")}
      </div>`;
    const button = $("#reveal");
    if (button) button.addEventListener("click", () => { location.hash = "#/person/" + id + "?reveal=true"; });
  }

  // ---- start ---------------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("#signin").addEventListener("submit", signIn);
    $("#signout").addEventListener("click", signOut);
    $("#lang").addEventListener("click", () => {
      lang = lang === "zh" ? "en" : "zh";
      localStorage.setItem("cordon.lang", lang);
      route();
    });
    window.addEventListener("hashchange", route);
    route();
  });
})();
