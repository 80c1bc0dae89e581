/*
 * Omnigate agent console — vanilla JS, no build step.
 *
 * Signs in with a bearer token (an agent's own or the admin's; kept in sessionStorage, so it
 * is forgotten with the tab), then talks to the gateway's public surface only:
 *   REST   /api/v1/me, /api/v1/conversations…, /api/v1/canned, PATCH /api/v1/agents/{id}
 *   live   /console/ws  ({"type":"auth","token"} as the first frame: no token in URLs)
 * Live frames are notices ("message 42 of conversation 7 changed"); the console reads the rows
 * through the REST API. Every piece of server data is written with textContent (never as
 * markup), and the page's Content-Security-Policy allows only its own scripts.
 */
(function () {
  "use strict";

  const STRINGS = window.OmnigateConsoleStrings;
  const TOKEN_KEY = "omnigate.console.token";
  const LANG_KEY = "omnigate.console.lang";
  const API = "/api/v1";
  const BACKOFF_BASE = 1000;
  const BACKOFF_MAX = 30000;
  const PING_EVERY = 25000;
  const STALE_AFTER = 65000;
  const PAGE = 500;
  const CHANNELS = { webchat: "Web", whatsapp: "WhatsApp", sms: "SMS", telegram: "Telegram" };
  const TICKS = {
    pending: "◷", queued: "◷", sending: "◷", held: "⏸",
    sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠", undelivered: "⚠",
  };

  const $ = (id) => document.getElementById(id);

  const state = {
    lang: "tr",
    token: "",
    me: null,
    canned: [],
    teams: [],
    tab: "queue",
    lists: { queue: [], mine: [], open: [] },
    listsLoaded: false,
    selected: null,
    detail: null,
    messages: new Map(),
    seen: {},
    gen: 0, // bumps on every sign-in and sign-out: late answers of an old session are dropped
    selectGen: 0,
    ws: null,
    retries: 0,
    retryAt: 0,
    timers: {},
    refreshing: false,
    refreshAgain: false,
    cannedOpen: null, // {start, items, index}
    signinMessage: null, // {key, kind}
    busy: false,
    sending: false,
  };

  // ---------------------------------------------------------------- i18n

  function t(key, vars) {
    const table = STRINGS[state.lang] || STRINGS.tr;
    let text = table[key];
    if (text == null) text = STRINGS.tr[key];
    if (text == null) return key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (match, name) => (vars[name] != null ? String(vars[name]) : match));
    }
    return text;
  }

  function locale() {
    return state.lang === "en" ? "en-GB" : "tr-TR";
  }

  function applyI18n() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
    updateTitle();
  }

  function initialLang() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (asked === "tr" || asked === "en") return asked;
    try {
      const kept = localStorage.getItem(LANG_KEY);
      if (kept === "tr" || kept === "en") return kept;
    } catch (_e) { /* storage may be blocked */ }
    return "tr";
  }

  function switchLang() {
    state.lang = state.lang === "tr" ? "en" : "tr";
    try { localStorage.setItem(LANG_KEY, state.lang); } catch (_e) { /* ignore */ }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", state.lang);
      history.replaceState(null, "", url);
    }
    applyI18n();
    renderSigninMessage();
    if (state.me) renderAll();
  }

  // ---------------------------------------------------------------- DOM helpers

  /** An element; strings among `children` become text nodes (never markup). */
  function h(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value == null || value === false) continue;
        if (key === "text") node.textContent = value;
        else if (key === "class") node.className = value;
        else if (key === "dataset") Object.assign(node.dataset, value);
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of [].concat(children == null ? [] : children)) {
      if (child != null && child !== false) node.append(child);
    }
    return node;
  }

  function channelBadge(channel) {
    if (!channel) return null;
    return h("span", {
      class: "chan",
      dataset: { channel: channel, testid: "channel" },
      text: CHANNELS[channel] || channel,
    });
  }

  function statePill(value) {
    return h("span", { class: "state", dataset: { state: value, testid: "state" }, text: t("state." + value) });
  }

  function avatarText(customer, id) {
    if (customer && customer.display_name && customer.display_name.trim()) return initials(customer.display_name);
    const number = String(id != null ? id : (customer && customer.id) || "");
    return number && number.length <= 3 ? "#" + number : "?";
  }

  function initials(name) {
    const parts = String(name || "").trim().split(/\s+/).filter(Boolean);
    const letters = parts.slice(0, 2).map((p) => p[0]).join("");
    return (letters || "?").toLocaleUpperCase(locale());
  }

  function customerName(customer, id) {
    const name = customer && customer.display_name;
    return name && name.trim() ? name.trim() : t("customer.unnamed", { id: id != null ? id : customer && customer.id });
  }

  // ---------------------------------------------------------------- time

  function parseTime(value) {
    const ms = value ? Date.parse(value) : NaN;
    return Number.isNaN(ms) ? null : ms;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return t("unit.s", { n: s });
    const m = Math.floor(s / 60);
    if (m < 60) return t("unit.m", { n: m });
    const hours = Math.floor(m / 60);
    if (hours < 24) {
      const rest = m % 60;
      return t("unit.h", { n: hours }) + (rest ? " " + t("unit.m", { n: rest }) : "");
    }
    return t("unit.d", { n: Math.floor(hours / 24) });
  }

  function since(value) {
    const ms = parseTime(value);
    return ms == null ? null : (Date.now() - ms) / 1000;
  }

  function clock(value) {
    const ms = parseTime(value);
    if (ms == null) return "";
    return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(ms);
  }

  function fullDate(value) {
    const ms = parseTime(value);
    if (ms == null) return "";
    return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(ms);
  }

  function shortDateTime(value) {
    const ms = parseTime(value);
    if (ms == null) return "";
    return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(ms);
  }

  function shortDate(value) {
    const ms = parseTime(value);
    if (ms == null) return "";
    return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short", year: "numeric" }).format(ms);
  }

  function dayLabel(value) {
    const ms = parseTime(value);
    if (ms == null) return "";
    const day = new Date(ms).toDateString();
    const today = new Date();
    if (day === today.toDateString()) return t("day.today");
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (day === yesterday.toDateString()) return t("day.yesterday");
    return new Intl.DateTimeFormat(locale(), { weekday: "long", day: "numeric", month: "long" }).format(ms);
  }

  function timeNode(value, cls) {
    return h("time", { class: cls, datetime: value, title: fullDate(value), text: clock(value) });
  }

  // ---------------------------------------------------------------- REST

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = { Authorization: "Bearer " + (opts.token || state.token) };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method: opts.method || "GET",
        headers: headers,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      throw new ApiError(0, "network", String(err && err.message ? err.message : err));
    }
    let data = null;
    try { data = await response.json(); } catch (_e) { data = null; }
    if (!response.ok) {
      const code = (data && data.error) || "http_" + response.status;
      throw new ApiError(response.status, code, (data && data.message) || response.statusText);
    }
    return data;
  }

  /** Runs an API call of the signed-in session; a 401 signs out (the token stopped working). */
  async function call(path, options) {
    const gen = state.gen;
    try {
      return await api(path, options);
    } catch (err) {
      if (err.status === 401 && gen === state.gen && state.me) signOut("signin.expired", "error");
      throw err;
    }
  }

  // ---------------------------------------------------------------- sign in / out

  function showSignin() {
    $("app").hidden = true;
    $("signin").hidden = false;
    renderSigninMessage();
    $("signin-token").focus();
  }

  function renderSigninMessage() {
    const box = $("signin-error");
    const msg = state.signinMessage;
    box.textContent = msg ? t(msg.key) : "";
    box.classList.toggle("info", !!msg && msg.kind === "info");
    $("signin-token").setAttribute("aria-invalid", msg && msg.kind === "error" ? "true" : "false");
  }

  function setSigninMessage(key, kind) {
    state.signinMessage = key ? { key: key, kind: kind || "error" } : null;
    renderSigninMessage();
  }

  async function signIn(raw, remembered) {
    const token = String(raw || "").trim();
    if (!token) {
      setSigninMessage("signin.empty");
      $("signin-token").focus();
      return;
    }
    const button = $("signin-submit");
    button.disabled = true;
    button.textContent = t("signin.busy");
    setSigninMessage(null);
    let me;
    try {
      me = await api("/me", { token: token });
    } catch (err) {
      let key = err.code === "network" ? "signin.network" : "signin.wrong";
      if (remembered && err.status === 401) key = "signin.expired";
      setSigninMessage(key);
      try { sessionStorage.removeItem(TOKEN_KEY); } catch (_e) { /* ignore */ }
      $("signin-token").focus();
      $("signin-token").select();
      return;
    } finally {
      button.disabled = false;
      button.textContent = t("signin.submit");
    }
    state.token = token;
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (_e) { /* ignore */ }
    $("signin-token").value = "";
    start(me);
  }

  function start(me) {
    state.gen += 1;
    state.me = me;
    state.signinMessage = null;
    state.tab = "queue";
    state.lists = { queue: [], mine: [], open: [] };
    state.listsLoaded = false;
    state.seen = {};
    $("signin").hidden = true;
    $("app").hidden = false;
    $("tab-open").hidden = !me.is_admin;
    applyI18n();
    renderMe();
    renderTabs();
    renderList();
    clearSelection();
    loadList("canned");
    loadList("teams");
    refreshLists();
    connect();
    state.timers.tick = setInterval(tick, 10000);
    const wanted = Number(hashParams().get("c"));
    if (wanted > 0) select(wanted);
    $("list").focus();
  }

  function signOut(messageKey, kind) {
    state.gen += 1;
    state.me = null;
    state.token = "";
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (_e) { /* ignore */ }
    for (const name of Object.keys(state.timers)) {
      clearTimeout(state.timers[name]);
      clearInterval(state.timers[name]);
    }
    state.timers = {};
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      try { ws.close(1000, "signed out"); } catch (_e) { /* ignore */ }
    }
    clearSelection();
    history.replaceState(null, "", location.pathname + location.search);
    setSigninMessage(messageKey || null, kind || "info");
    document.title = t("app.title");
    showSignin();
  }

  function hashParams() {
    return new URLSearchParams(location.hash.replace(/^#/, ""));
  }

  // ---------------------------------------------------------------- header: me, status, live

  function renderMe() {
    const me = state.me;
    if (!me) return;
    $("me-name").textContent = me.name;
    $("me-role").textContent = t(me.is_admin ? "role.admin" : "role.agent");
    $("me-avatar").textContent = initials(me.name);
    const online = me.status === "online";
    const toggle = $("status-toggle");
    toggle.setAttribute("aria-pressed", online ? "true" : "false");
    toggle.dataset.status = me.status;
    $("status-text").textContent = t(online ? "status.online" : "status.away");
    toggle.title = t(online ? "status.toAway" : "status.toOnline");
    toggle.setAttribute("aria-label", t("top.status") + ": " + t(online ? "status.online" : "status.away"));
  }

  async function toggleStatus() {
    const me = state.me;
    if (!me) return;
    const next = me.status === "online" ? "away" : "online";
    const toggle = $("status-toggle");
    toggle.disabled = true;
    try {
      const updated = await call("/agents/" + me.id, { method: "PATCH", body: { status: next } });
      if (state.me === me) {
        me.status = updated.status;
        renderMe();
      }
    } catch (err) {
      showError(err);
    } finally {
      toggle.disabled = false;
    }
  }

  function setLive(mode) {
    const live = $("live");
    live.dataset.state = mode;
    let text;
    if (mode === "open") text = t("live.open");
    else if (mode === "retry") {
      text = t("live.retry", { s: Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000)) });
    } else text = t("live.connecting");
    $("live-text").textContent = text;
    live.title = mode === "open" ? t("live.openTitle") : text;
  }

  function updateTitle() {
    const waiting = state.me ? state.lists.queue.length : 0;
    document.title = (waiting ? "(" + waiting + ") " : "") + t("app.title");
  }

  // ---------------------------------------------------------------- announcements, toasts

  function announce(text) {
    const box = $("announcer");
    box.append(h("p", { text: text }));
    while (box.childElementCount > 3) box.firstElementChild.remove();
  }

  function toast(kind, title, text, detail) {
    const box = $("toast");
    box.dataset.kind = kind;
    $("toast-title").textContent = title || "";
    $("toast-text").textContent = text || "";
    $("toast-detail").textContent = detail || "";
    box.hidden = false;
    clearTimeout(state.timers.toast);
    state.timers.toast = setTimeout(() => { box.hidden = true; }, kind === "ok" ? 3500 : 15000);
  }

  function showError(err) {
    if (err.status === 401) return; // call() already signed out with a message
    const current = state.detail ? t("state." + state.detail.state) : "?";
    const known = ["forbidden", "illegal_transition", "conflict", "unreachable", "not_found", "bad_request", "network"];
    const text = t(known.includes(err.code) ? "error." + err.code : "error.generic", { state: current });
    const detail = err.status ? t("error.detail", { status: err.status, message: err.message || "" }) : "";
    toast("error", t("error.title"), text, detail);
  }

  // ---------------------------------------------------------------- lists

  /** Lists again soon: a burst of events makes one refresh (and a stream never starves it). */
  function scheduleRefresh(delay) {
    if (state.timers.refresh) return;
    state.timers.refresh = setTimeout(() => {
      state.timers.refresh = null;
      refreshLists();
    }, delay || 120);
  }

  async function refreshLists() {
    if (!state.me) return;
    if (state.refreshing) {
      state.refreshAgain = true;
      return;
    }
    state.refreshing = true;
    const gen = state.gen;
    try {
      const jobs = [
        call("/conversations?state=queued&limit=200"),
        call("/conversations?state=agent&assignee=me&limit=200"),
      ];
      if (state.me.is_admin) jobs.push(call("/conversations?limit=300"));
      const [queue, mine, all] = await Promise.all(jobs);
      if (gen !== state.gen) return;
      const before = new Set(state.lists.queue.map((c) => c.id));
      state.lists.queue = queue.conversations;
      state.lists.mine = mine.conversations;
      state.lists.open = all ? all.conversations.filter((c) => c.state !== "closed") : [];
      if (!state.listsLoaded) {
        for (const list of Object.values(state.lists)) {
          for (const c of list) if (c.last_message) state.seen[c.id] = Math.max(state.seen[c.id] || 0, c.last_message.id);
        }
      } else {
        for (const c of state.lists.queue) {
          if (!before.has(c.id)) announce(t("announce.queued", { name: customerName(c.customer, c.customer_id) }));
        }
      }
      state.listsLoaded = true;
      renderTabs();
      renderList();
      updateTitle();
    } catch (err) {
      if (err.status !== 401 && gen === state.gen) scheduleRefresh(5000);
    } finally {
      state.refreshing = false;
      if (state.refreshAgain) {
        state.refreshAgain = false;
        scheduleRefresh();
      }
    }
  }


  function renderTabs() {
    for (const tab of document.querySelectorAll("#tabs [role=tab]")) {
      const name = tab.dataset.tab;
      const selected = name === state.tab;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
      const count = tab.querySelector(".count");
      count.textContent = String(state.lists[name].length);
      count.dataset.hot = name === "queue" && state.lists.queue.length > 0 ? "true" : "false";
    }
    $("list").setAttribute("aria-labelledby", "tab-" + state.tab);
  }

  function setTab(name, focus) {
    state.tab = name;
    renderTabs();
    renderList();
    if (focus) $("tab-" + name).focus();
  }

  function renderList() {
    const list = $("list");
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".conv");
    const focusedId = focused ? focused.dataset.id : null;
    const items = state.lists[state.tab];
    if (!items.length) {
      list.replaceChildren(h("p", { class: "list-empty", text: t("list.empty." + state.tab) }));
      return;
    }
    list.replaceChildren(...items.map(listItem));
    if (focusedId) {
      const again = list.querySelector('.conv[data-id="' + focusedId + '"]');
      if (again) again.focus();
    }
  }

  function listItem(c) {
    const name = customerName(c.customer, c.customer_id);
    const last = c.last_message;
    const unread = !!last && last.sender === "customer" && last.id > (state.seen[c.id] || 0) && c.id !== state.selected;
    let timeText;
    let since_;
    let waiting = false;
    if (c.state === "queued" && c.queued_at) {
      since_ = c.queued_at;
      waiting = true;
      timeText = t("list.waiting", { t: duration(since(c.queued_at)) });
    } else {
      since_ = (last && last.created_at) || c.updated_at;
      timeText = t("list.ago", { t: duration(since(since_)) });
    }
    let lastText = t("list.noMessage");
    if (last) {
      let who = "";
      if (last.note && last.sender === "agent") who = t("note.badge") + ": ";
      else if (last.sender !== "customer") who = t("sender." + last.sender) + ": ";
      lastText = who + (last.sender === "system" ? systemText(last) : last.text);
    }
    const tags = [channelBadge(c.last_channel)];
    if (c.state === "queued" && c.handoff_reason) {
      tags.push(h("span", { class: "reason", text: t("reason." + c.handoff_reason) }));
    }
    if (state.tab === "open") {
      tags.push(statePill(c.state));
      if (c.assignee) tags.push(h("span", { class: "reason", text: t("list.assignedTo", { name: c.assignee.name }) }));
    }
    return h(
      "button",
      {
        type: "button",
        class: "conv",
        "aria-current": c.id === state.selected ? "true" : null,
        dataset: { id: String(c.id), state: c.state, testid: "conversation", conversationId: String(c.id) },
        onclick: () => select(c.id),
        onkeydown: listKeys,
      },
      [
        h("div", { class: "conv-top" }, [
          unread ? h("span", { class: "unread-dot", title: t("list.unread"), "aria-label": t("list.unread"), role: "img" }) : null,
          h("span", { class: "conv-name", text: name }),
          h("span", {
            class: "conv-time" + (waiting ? " waiting" : ""),
            dataset: { since: since_ || "", mode: waiting ? "waiting" : "ago" },
            text: timeText,
          }),
        ]),
        h("div", { class: "conv-last", text: lastText }),
        h("div", { class: "conv-tags" }, tags),
      ],
    );
  }

  function listKeys(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const all = [...$("list").querySelectorAll(".conv")];
    const at = all.indexOf(event.currentTarget);
    const next = all[at + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }

  function tick() {
    for (const node of document.querySelectorAll(".conv-time[data-since]")) {
      const seconds = since(node.dataset.since);
      if (seconds == null) continue;
      node.textContent = t(node.dataset.mode === "waiting" ? "list.waiting" : "list.ago", { t: duration(seconds) });
    }
  }

  // ---------------------------------------------------------------- the open conversation

  function clearSelection() {
    state.selected = null;
    state.detail = null;
    state.messages = new Map();
    state.selectGen += 1;
    $("placeholder").hidden = false;
    $("messages").hidden = true;
    $("messages").replaceChildren();
    $("composer").hidden = true;
    $("actions").hidden = true;
    $("toast").hidden = true;
    $("new-below").hidden = true;
    $("thread-title").textContent = t("thread.placeholderTitle");
    $("thread-meta").replaceChildren();
    $("customer-body").replaceChildren(h("p", { class: "muted", text: t("customer.none") }));
  }

  async function select(id) {
    if (!state.me) return;
    const changed = id !== state.selected;
    if (changed) {
      clearSelection();
      state.selected = id;
      history.replaceState(null, "", location.pathname + location.search + "#c=" + id);
      $("placeholder").hidden = true;
      $("messages").hidden = false;
      $("messages").replaceChildren(h("li", { class: "thread-empty", text: t("thread.loading") }));
      $("thread-title").textContent = t("thread.title", { id: id });
      renderList();
      resetComposer();
    }
    const gen = ++state.selectGen;
    try {
      const [detail, messages] = await Promise.all([call("/conversations/" + id), loadThread(id)]);
      if (gen !== state.selectGen || state.selected !== id) return;
      state.detail = detail;
      state.messages = new Map(messages.map((m) => [m.id, m]));
      renderConversation();
      renderThread(true);
      markSeen();
    } catch (err) {
      if (gen !== state.selectGen) return;
      $("messages").replaceChildren();
      showError(err);
    }
  }

  async function loadThread(id) {
    const all = [];
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const body = await call("/conversations/" + id + "/messages?after=" + after + "&limit=" + PAGE);
      all.push(...body.messages);
      if (body.messages.length < PAGE) break;
      after = body.messages[body.messages.length - 1].id;
    }
    return all;
  }

  async function reloadDetail() {
    const id = state.selected;
    if (id == null) return;
    const gen = state.selectGen;
    try {
      const detail = await call("/conversations/" + id);
      if (gen !== state.selectGen || state.selected !== id) return;
      state.detail = detail;
      renderConversation();
    } catch (_err) { /* the next event or reconnect loads it again */ }
  }

  /** Everything again after a reconnect: whatever happened meanwhile is in the rows. */
  async function resync() {
    refreshLists();
    const id = state.selected;
    if (id == null) return;
    const gen = state.selectGen;
    try {
      const [detail, messages] = await Promise.all([call("/conversations/" + id), loadThread(id)]);
      if (gen !== state.selectGen || state.selected !== id) return;
      state.detail = detail;
      const fresh = messages.filter((m) => !state.messages.has(m.id));
      state.messages = new Map(messages.map((m) => [m.id, m]));
      renderConversation();
      renderThread(false);
      for (const m of fresh) announceMessage(m);
      markSeen();
    } catch (_err) { /* next reconnect */ }
  }

  async function fetchMessage(conversationId, messageId) {
    const gen = state.selectGen;
    try {
      const body = await call(
        "/conversations/" + conversationId + "/messages?after=" + Math.max(0, messageId - 1) + "&limit=1",
      );
      const found = body.messages[0];
      if (!found || found.id !== messageId) return;
      if (gen !== state.selectGen || state.selected !== conversationId) return;
      const isNew = !state.messages.has(found.id);
      upsertMessage(found);
      if (isNew) announceMessage(found);
      markSeen();
    } catch (_err) { /* a reconnect resyncs */ }
  }

  // A system entry in the console's language when the server gave its wordings.
  function systemText(m) {
    return (m.texts && m.texts[state.lang]) || m.text;
  }

  function announceMessage(m) {
    if (m.sender === "system") {
      announce(systemText(m));
      return;
    }
    if (m.agent_id && state.me && m.agent_id === state.me.id) return; // one's own words
    const sender = m.sender === "customer"
      ? customerName(state.detail && state.detail.customer, state.detail && state.detail.customer_id)
      : m.sender === "agent" ? m.agent_name || t("sender.agent") : t("sender." + m.sender);
    announce(t("announce.message", { sender: sender, text: m.text }));
  }

  function markSeen() {
    if (state.selected == null) return;
    let top = state.seen[state.selected] || 0;
    for (const id of state.messages.keys()) top = Math.max(top, id);
    state.seen[state.selected] = top;
  }

  function renderConversation() {
    const d = state.detail;
    if (!d) return;
    $("thread-title").textContent = customerName(d.customer, d.customer_id);
    const meta = [h("span", { text: "#" + d.id }), statePill(d.state)];
    if (d.state === "queued" && d.handoff_reason) meta.push(h("span", { class: "reason", text: t("reason." + d.handoff_reason) }));
    meta.push(
      h("span", {
        dataset: { testid: "assignee" },
        text: d.assignee ? t("thread.assignee", { name: d.assignee.name }) : t("thread.unassigned"),
      }),
    );
    $("thread-meta").replaceChildren(...meta);
    renderActions();
    renderComposerMode();
    renderCustomer();
  }

  function mineNow() {
    const d = state.detail;
    return !!d && d.state === "agent" && d.assignee_id === state.me.id;
  }

  function renderActions() {
    const d = state.detail;
    const box = $("actions");
    if (!d || d.state === "closed") {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const admin = !!state.me.is_admin;
    const other = d.state === "agent" && d.assignee_id !== state.me.id;
    const otherName = d.assignee ? d.assignee.name : "";
    const claim = box.querySelector("[data-action=claim]");
    const release = box.querySelector("[data-action=release]");
    const close = box.querySelector("[data-action=close]");
    claim.hidden = mineNow();
    claim.classList.toggle("btn-primary", !other); // someone else's: possible, not suggested
    claim.disabled = state.busy;
    claim.title = other ? t("action.notOwner", { name: otherName }) : t("action.claimTitle");
    release.hidden = !(d.state === "queued" || d.state === "agent");
    release.disabled = state.busy || (other && !admin);
    release.title = other && !admin ? t("action.notOwner", { name: otherName }) : t("action.releaseTitle");
    close.disabled = state.busy || (other && !admin);
    close.title = other && !admin ? t("action.notOwner", { name: otherName }) : t("action.closeTitle");
    // Transfer: the owner (or an admin) sends an assigned conversation back to a team's queue.
    const transfer = $("transfer");
    transfer.hidden = !(d.state === "agent" && (mineNow() || admin));
    const button = box.querySelector("[data-action=transfer]");
    button.disabled = state.busy;
    button.title = t("action.transferTitle");
    renderTeams(d.team || "");
  }

  function renderTeams(current) {
    const select = $("transfer-team");
    const chosen = select.value;
    const options = [h("option", { value: "", text: current ? t("transfer.sameTeam") + " (" + current + ")" : t("transfer.anyTeam") })];
    for (const team of state.teams) {
      if (team.name !== current) options.push(h("option", { value: team.name, text: team.name }));
    }
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  }

  async function act(action) {
    const id = state.selected;
    if (id == null || state.busy) return;
    state.busy = true;
    renderActions();
    try {
      let path = "/conversations/" + id + "/" + action;
      let body = {};
      if (action === "transfer") {
        path = "/conversations/" + id + "/handoff";
        const team = $("transfer-team").value;
        body = team ? { reason: "transfer", team } : { reason: "transfer" };
      }
      const result = await call(path, { method: "POST", body });
      if (state.selected === id && state.detail) {
        Object.assign(state.detail, result);
        renderConversation();
      }
      toast("ok", "", t("done." + action));
      announce(t("done." + action));
      scheduleRefresh();
      if (action === "claim") {
        setTab("mine");
        $("composer-text").focus();
      }
      reloadDetail();
    } catch (err) {
      await reloadDetail();
      showError(err);
    } finally {
      state.busy = false;
      renderActions();
    }
  }

  // ---------------------------------------------------------------- the thread

  function nearBottom() {
    const box = $("messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollToBottom() {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
    $("new-below").hidden = true;
  }

  function sortedMessages() {
    return [...state.messages.values()].sort((a, b) => a.id - b.id);
  }

  function renderThread(toBottom) {
    const box = $("messages");
    const stick = toBottom || nearBottom();
    const nodes = [];
    let day = null;
    for (const m of sortedMessages()) {
      const label = dayLabel(m.created_at);
      if (label !== day) {
        day = label;
        nodes.push(h("li", { class: "day", "aria-hidden": "true", dataset: { day: label }, text: label }));
      }
      nodes.push(messageNode(m));
    }
    if (!nodes.length) nodes.push(h("li", { class: "thread-empty", text: t("thread.empty") }));
    box.replaceChildren(...nodes);
    if (stick) scrollToBottom();
  }

  function upsertMessage(m) {
    const box = $("messages");
    const existing = box.querySelector('[data-message-id="' + m.id + '"]');
    const maxBefore = Math.max(0, ...state.messages.keys());
    state.messages.set(m.id, m);
    if (existing) {
      existing.replaceWith(messageNode(m));
      return;
    }
    if (m.id < maxBefore || box.querySelector(".thread-empty")) {
      renderThread(false);
      return;
    }
    const stick = nearBottom();
    const label = dayLabel(m.created_at);
    const days = box.querySelectorAll(".day");
    const lastDay = days.length ? days[days.length - 1].dataset.day : null;
    if (label !== lastDay) box.append(h("li", { class: "day", "aria-hidden": "true", dataset: { day: label }, text: label }));
    box.append(messageNode(m));
    if (stick || (m.agent_id && m.agent_id === state.me.id)) scrollToBottom();
    else $("new-below").hidden = false;
  }

  function senderLabel(m) {
    if (m.sender === "agent") return m.agent_name || t("sender.agent");
    if (m.sender === "customer") {
      const d = state.detail;
      return d ? customerName(d.customer, d.customer_id) : t("sender.customer");
    }
    return t("sender." + m.sender);
  }

  function messageNode(m) {
    if (m.sender === "system") {
      return h(
        "li",
        {
          class: "divider",
          dataset: { messageId: String(m.id), sender: "system", event: m.event || "", testid: "system-entry" },
        },
        [h("span", { class: "divider-text" }, [h("span", { text: systemText(m) }), timeNode(m.created_at)])],
      );
    }
    const direction = m.direction === "in" ? "in" : "out";
    const meta = [
      h("span", { class: "msg-sender", text: senderLabel(m) }),
      channelBadge(m.channel),
      m.note ? h("span", { class: "note-badge", title: t("note.hint"), text: t("note.badge") }) : null,
      timeNode(m.created_at, "msg-time"),
      !m.note && direction === "out" && m.delivery_status ? deliveryTick(m) : null,
    ];
    const body = [];
    if (m.text) body.push(m.text);
    else if (m.kind && m.kind !== "text") body.push("[" + t("media.attachment") + "]");
    const bubble = h("div", { class: "bubble", dataset: { testid: "message-text" } }, body);
    if (m.media && m.media.length) bubble.append(mediaList(m.media));
    if (m.buttons && m.buttons.length) {
      bubble.append(h("div", { class: "buttons" }, m.buttons.map((b) => h("span", { text: b.title || "" }))));
    }
    return h(
      "li",
      {
        class: "msg" + (m.note ? " note" : ""),
        dataset: {
          messageId: String(m.id),
          sender: m.sender,
          direction: direction,
          channel: m.channel || "",
          note: m.note ? "true" : "false",
          delivery: m.delivery_status || "",
          testid: "message",
        },
      },
      [h("div", { class: "msg-meta" }, meta), bubble],
    );
  }

  function deliveryTick(m) {
    const status = m.delivery_status;
    const label = t("delivery." + status);
    let title = t("delivery.label", { s: label });
    const failed = status === "failed" || status === "undelivered" || status === "held";
    if (failed && (m.error_code || m.error_message)) {
      title += " — " + [m.error_code, m.error_message].filter(Boolean).join(": ");
    }
    return h(
      "span",
      {
        class: "tick",
        title: title,
        tabindex: failed ? "0" : null,
        dataset: { status: status, testid: "delivery" },
      },
      [h("span", { class: "tick-icon", "aria-hidden": "true", text: TICKS[status] || "•" }), h("span", { text: label }),
        failed && m.error_code ? h("span", { class: "sr-only", text: title }) : null],
    );
  }

  function mediaList(media) {
    return h(
      "div",
      { class: "media" },
      media.map((item) => {
        const label = item.caption || item.content_type || t("media.attachment");
        let safe = null;
        try {
          const url = new URL(item.url, location.href);
          if (url.protocol === "https:" || url.protocol === "http:") safe = url.href;
        } catch (_e) { safe = null; }
        return safe
          ? h("a", { href: safe, target: "_blank", rel: "noopener noreferrer", text: t("media.attachment") + ": " + label })
          : h("span", { text: t("media.attachment") + ": " + label });
      }),
    );
  }

  // ---------------------------------------------------------------- customer panel

  function renderCustomer() {
    const d = state.detail;
    const body = $("customer-body");
    if (!d) {
      body.replaceChildren(h("p", { class: "muted", text: t("customer.none") }));
      return;
    }
    const c = d.customer || {};
    const name = customerName(c, d.customer_id);
    const parts = [
      h("div", { class: "who" }, [
        h("span", { class: "avatar", "aria-hidden": "true", text: avatarText(c, d.customer_id) }),
        h("div", {}, [
          h("div", { class: "who-name", dataset: { testid: "customer-name" }, text: name }),
          h("div", { class: "who-sub", text: t("customer.since", { d: shortDate(c.created_at) }) }),
        ]),
      ]),
    ];

    if (c.email || c.phone) {
      const rows = [];
      if (c.email) rows.push(h("dt", { text: t("customer.email") }), h("dd", {}, [c.email, " ", verifiedFlag(c.email_verified)]));
      if (c.phone) rows.push(h("dt", { text: t("customer.phone") }), h("dd", {}, [c.phone, " ", verifiedFlag(c.phone_verified)]));
      parts.push(section(t("customer.contact"), h("dl", { class: "kv" }, rows)));
    }

    const identities = (c.identities || []).map((i) => {
      const flags = [];
      if (i.unreachable) flags.push(h("span", { class: "flag flag-bad", text: t("customer.unreachable") }));
      if (i.opted_out_at) flags.push(h("span", { class: "flag flag-bad", text: t("customer.optedOut") }));
      if (i.verified) flags.push(h("span", { class: "flag flag-ok", text: t("customer.verified") }));
      const how = i.linked_by ? t("linked." + i.linked_by) : "";
      return h("li", { class: "id-item", dataset: { testid: "identity", channel: i.channel } }, [
        h("div", { class: "id-top" }, [channelBadge(i.channel), h("span", {}, flags)]),
        i.display_name ? h("div", { class: "id-how", text: i.display_name }) : null,
        h("div", { class: "id-ext", text: i.external_id }),
        how ? h("div", { class: "id-how", text: t("linked.label", { r: how === "linked." + i.linked_by ? i.linked_by : how }) }) : null,
      ]);
    });
    parts.push(section(t("customer.identities"), h("ul", { class: "ids" }, identities)));

    const facts = [
      h("dt", { text: t("customer.started") }), h("dd", { title: fullDate(d.created_at), text: shortDateTime(d.created_at) }),
      h("dt", { text: t("customer.channel") }), h("dd", {}, [channelBadge(d.last_channel) || "—"]),
      h("dt", { text: t("customer.csat") }), h("dd", { dataset: { testid: "csat" } }, [csatNode(d.csat)]),
    ];
    const metrics = d.metrics || {};
    if (metrics.time_to_first_agent_reply_seconds != null) {
      facts.push(h("dt", { text: t("customer.firstReply") }), h("dd", { text: duration(metrics.time_to_first_agent_reply_seconds) }));
    }
    if (metrics.resolution_seconds != null) {
      facts.push(h("dt", { text: t("customer.resolution") }), h("dd", { text: duration(metrics.resolution_seconds) }));
    }
    parts.push(section(t("customer.conversation"), h("dl", { class: "kv" }, facts)));

    const earlier = (c.conversations || []).slice().sort((a, b) => b.id - a.id);
    parts.push(
      section(
        t("customer.earlier"),
        earlier.length
          ? h(
              "ul",
              { class: "earlier" },
              earlier.map((e) =>
                h("li", {}, [
                  h(
                    "button",
                    {
                      type: "button",
                      class: "earlier-item",
                      dataset: { testid: "earlier", conversationId: String(e.id) },
                      onclick: () => select(e.id),
                    },
                    [
                      h("span", { class: "earlier-main" }, [
                        h("b", { text: "#" + e.id }),
                        h("small", { text: shortDate(e.created_at) }),
                      ]),
                      e.csat_score ? stars(e.csat_score) : null,
                      statePill(e.state),
                    ],
                  ),
                ]),
              ),
            )
          : h("p", { class: "muted", text: t("customer.noEarlier") }),
      ),
    );
    body.replaceChildren(...parts);
  }

  function section(title, content) {
    return h("section", { class: "section" }, [h("h3", { text: title }), content]);
  }

  function verifiedFlag(ok) {
    return h("span", { class: "flag " + (ok ? "flag-ok" : ""), text: t(ok ? "customer.verified" : "customer.unverified") });
  }

  function stars(score) {
    const node = h("span", { class: "stars", role: "img", "aria-label": score + "/5", title: score + "/5" });
    for (let i = 1; i <= 5; i++) node.append(h("span", { class: i <= score ? "" : "off", text: "★" }));
    return node;
  }

  function csatNode(csat) {
    if (csat && csat.score) {
      return h("span", { class: "csat" }, [
        stars(csat.score),
        h("span", { class: "csat-score", text: csat.score + "/5" }),
        csat.comment ? h("span", { class: "muted", text: "“" + csat.comment + "”" }) : null,
      ]);
    }
    return h("span", { class: "muted", text: t(csat && csat.asked_at ? "customer.csatAsked" : "customer.csatNone") });
  }

  // ---------------------------------------------------------------- composer

  function noteOnly() {
    const d = state.detail;
    if (!d) return false;
    return d.state === "closed" || (d.state === "agent" && d.assignee_id !== state.me.id);
  }

  function resetComposer() {
    const toggle = $("note-toggle");
    toggle.checked = false;
    $("composer-text").value = "";
    autosize();
    closeCanned();
    renderComposerMode();
  }

  function renderComposerMode() {
    const form = $("composer");
    const d = state.detail;
    form.hidden = !d;
    if (!d) return;
    const toggle = $("note-toggle");
    const forced = noteOnly();
    if (forced) toggle.checked = true;
    toggle.disabled = forced;
    const note = toggle.checked;
    form.dataset.note = note ? "true" : "false";
    const text = $("composer-text");
    text.placeholder = t(note ? "composer.notePlaceholder" : "composer.placeholder");
    $("composer-label").textContent = t(note ? "composer.noteLabel" : "composer.label");
    $("composer-send").textContent = t(note ? "composer.addNote" : "composer.send");
    let hint = "";
    if (forced) hint = t("composer.noteOnly");
    else if (!note && (d.state === "bot" || d.state === "queued")) hint = t("composer.claims");
    else if (note) hint = t("note.hint");
    $("composer-hint").textContent = hint;
  }

  function autosize() {
    const text = $("composer-text");
    text.style.height = "auto";
    text.style.height = Math.min(text.scrollHeight, 220) + "px";
  }

  function expandShortcuts(text) {
    const known = new Map(state.canned.map((c) => [c.shortcut, c.text]));
    return text.replace(/(^|\s)\/([a-z0-9_-]+)(?=\s|$)/gi, (match, space, key) => {
      const found = known.get(key.toLowerCase());
      return found ? space + found : match;
    });
  }

  async function send(event) {
    if (event) event.preventDefault();
    const id = state.selected;
    const box = $("composer-text");
    const text = expandShortcuts(box.value).trim();
    if (id == null || !text || state.sending) return;
    const note = $("note-toggle").checked || noteOnly();
    const button = $("composer-send");
    state.sending = true;
    button.disabled = true;
    const key = "console-" + (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random());
    try {
      const row = await call("/conversations/" + id + "/messages", {
        method: "POST",
        body: { text: text, note: note, client_key: key.slice(0, 64) },
      });
      if (state.selected === id) {
        box.value = "";
        autosize();
        closeCanned();
        upsertMessage(row);
        markSeen();
        if (!note && state.detail && state.detail.state !== "agent") reloadDetail();
      }
      scheduleRefresh();
    } catch (err) {
      showError(err);
      reloadDetail();
    } finally {
      state.sending = false;
      button.disabled = false;
      if (state.selected === id) box.focus();
    }
  }

  function cannedQuery() {
    const box = $("composer-text");
    const caret = box.selectionStart;
    if (caret !== box.selectionEnd) return null;
    const before = box.value.slice(0, caret);
    const match = /(^|\s)\/([a-z0-9_-]*)$/i.exec(before);
    if (!match) return null;
    return { start: caret - match[2].length - 1, end: caret, query: match[2].toLowerCase() };
  }

  function updateCanned() {
    const query = cannedQuery();
    if (!query || !state.canned.length) {
      closeCanned();
      return;
    }
    const q = query.query;
    const first = state.canned.filter((c) => c.shortcut.startsWith(q));
    const then = q
      ? state.canned.filter((c) => !c.shortcut.startsWith(q) && (c.shortcut.includes(q) || c.text.toLocaleLowerCase(locale()).includes(q)))
      : [];
    const items = first.concat(then).slice(0, 8);
    const previous = state.cannedOpen;
    let index = 0;
    if (previous && previous.items[previous.index]) {
      const keep = items.indexOf(previous.items[previous.index]);
      if (keep >= 0) index = keep;
    }
    state.cannedOpen = { start: query.start, end: query.end, items: items, index: index };
    renderCanned(q);
  }

  function renderCanned(q) {
    const open = state.cannedOpen;
    const box = $("canned");
    const text = $("composer-text");
    const nodes = [
      h("div", { class: "canned-head", "aria-hidden": "true" }, [
        h("span", { text: t("canned.label") }),
        h("span", { text: t("canned.hint") }),
      ]),
    ];
    if (!open.items.length) {
      nodes.push(h("div", { class: "canned-none", text: t("canned.none", { q: q }) }));
      text.removeAttribute("aria-activedescendant");
    }
    open.items.forEach((item, i) => {
      nodes.push(
        h(
          "div",
          {
            class: "canned-item",
            id: "canned-" + i,
            role: "option",
            "aria-selected": i === open.index ? "true" : "false",
            dataset: { testid: "canned-item", shortcut: item.shortcut },
            onmousedown: (event) => {
              event.preventDefault(); // keep the focus in the text box
              pickCanned(i);
            },
          },
          [h("span", { class: "canned-key", text: "/" + item.shortcut }), h("span", { class: "canned-text", text: item.text })],
        ),
      );
    });
    box.replaceChildren(...nodes);
    box.hidden = false;
    text.setAttribute("aria-expanded", "true");
    if (open.items.length) {
      text.setAttribute("aria-activedescendant", "canned-" + open.index);
      const active = $("canned-" + open.index);
      if (active) active.scrollIntoView({ block: "nearest" });
    }
  }

  function closeCanned() {
    state.cannedOpen = null;
    $("canned").hidden = true;
    $("canned").replaceChildren();
    const text = $("composer-text");
    text.setAttribute("aria-expanded", "false");
    text.removeAttribute("aria-activedescendant");
  }

  function pickCanned(index) {
    const open = state.cannedOpen;
    if (!open || !open.items[index]) return;
    const box = $("composer-text");
    const item = open.items[index];
    const value = box.value;
    box.value = value.slice(0, open.start) + item.text + value.slice(open.end);
    const caret = open.start + item.text.length;
    box.setSelectionRange(caret, caret);
    closeCanned();
    autosize();
    box.focus();
  }

  function composerKeys(event) {
    const open = state.cannedOpen;
    if (open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!open.items.length) return;
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        open.index = (open.index + step + open.items.length) % open.items.length;
        renderCanned("");
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && open.items.length) {
        event.preventDefault();
        pickCanned(open.index);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        closeCanned();
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  }

  // A list the console needs once per sign-in (canned responses, teams); empty if it fails.
  async function loadList(name) {
    const gen = state.gen;
    try {
      const body = await call("/" + name);
      if (gen === state.gen) state[name] = body[name] || [];
    } catch (_err) {
      if (gen === state.gen) state[name] = [];
    }
  }

  // ---------------------------------------------------------------- live updates

  function connect() {
    const gen = state.gen;
    clearTimeout(state.timers.reconnect);
    clearInterval(state.timers.countdown);
    setLive("connecting");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let ws;
    try {
      ws = new WebSocket(scheme + location.host + "/console/ws");
    } catch (_e) {
      reconnectLater(gen);
      return;
    }
    state.ws = ws;
    let lastFrame = Date.now();
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: state.token }));
    };
    ws.onmessage = (event) => {
      if (gen !== state.gen || state.ws !== ws) return;
      lastFrame = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch (_e) { return; }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "hello") {
        state.retries = 0;
        setLive("open");
        clearInterval(state.timers.ping);
        state.timers.ping = setInterval(() => {
          if (Date.now() - lastFrame > STALE_AFTER) {
            try { ws.close(4000, "stale"); } catch (_e) { /* ignore */ }
            return;
          }
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
        }, PING_EVERY);
        if (frame.agent && state.me) {
          state.me.status = frame.agent.status;
          renderMe();
        }
        resync(); // whatever happened before the subscription
        return;
      }
      onEvent(frame);
    };
    ws.onclose = (event) => {
      if (gen !== state.gen || state.ws !== ws) return;
      state.ws = null;
      clearInterval(state.timers.ping);
      if (event.code === 4401) {
        signOut("signin.expired", "error");
        return;
      }
      reconnectLater(gen);
    };
  }

  function reconnectLater(gen) {
    if (gen !== state.gen) return;
    const delay = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** state.retries) * (0.8 + Math.random() * 0.4);
    state.retries = Math.min(state.retries + 1, 10);
    state.retryAt = Date.now() + delay;
    setLive("retry");
    clearInterval(state.timers.countdown);
    state.timers.countdown = setInterval(() => setLive("retry"), 1000);
    clearTimeout(state.timers.reconnect);
    state.timers.reconnect = setTimeout(() => {
      clearInterval(state.timers.countdown);
      if (gen === state.gen) connect();
    }, delay);
  }

  function onEvent(frame) {
    const cid = frame.conversation_id;
    if (frame.type === "resync") {
      resync(); // the server's live link broke and came back: events may be missing
    } else if (frame.type === "message") {
      scheduleRefresh();
      if (cid != null && cid === state.selected && frame.message_id) fetchMessage(cid, frame.message_id);
    } else if (frame.type === "conversation") {
      scheduleRefresh();
      if (cid === state.selected) reloadDetail();
      if (frame.event === "assigned" && state.me && frame.assignee_id === state.me.id && frame.by !== state.me.id) {
        announce(t("announce.assigned", { id: cid }));
      }
    } else if (frame.type === "agent") {
      if (state.me && frame.agent_id === state.me.id && frame.status) {
        state.me.status = frame.status;
        renderMe();
      }
    }
  }

  // ---------------------------------------------------------------- wiring

  function renderAll() {
    renderMe();
    setLive($("live").dataset.state || "connecting");
    renderTabs();
    renderList();
    if (state.detail) {
      renderConversation();
      renderThread(false);
    } else if (state.selected == null) {
      clearSelection();
    }
    if (state.cannedOpen) updateCanned();
  }

  function wire() {
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn($("signin-token").value);
    });
    for (const button of document.querySelectorAll(".lang-toggle")) button.addEventListener("click", switchLang);
    $("signout").addEventListener("click", () => signOut("signin.signedOut", "info"));
    $("status-toggle").addEventListener("click", toggleStatus);
    for (const tab of document.querySelectorAll("#tabs [role=tab]")) {
      tab.addEventListener("click", () => setTab(tab.dataset.tab));
      tab.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
        const tabs = [...document.querySelectorAll("#tabs [role=tab]")].filter((x) => !x.hidden);
        const at = tabs.indexOf(tab);
        const next = tabs[(at + (event.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length];
        setTab(next.dataset.tab, true);
      });
    }
    for (const button of document.querySelectorAll("#actions [data-action]")) {
      button.addEventListener("click", () => act(button.dataset.action));
    }
    $("toast-close").addEventListener("click", () => { $("toast").hidden = true; });
    $("composer").addEventListener("submit", send);
    const text = $("composer-text");
    text.addEventListener("keydown", composerKeys);
    text.addEventListener("input", () => {
      autosize();
      updateCanned();
    });
    text.addEventListener("click", updateCanned);
    text.addEventListener("blur", () => setTimeout(closeCanned, 100));
    $("note-toggle").addEventListener("change", () => {
      renderComposerMode();
      text.focus();
    });
    $("messages").addEventListener("scroll", () => {
      if (nearBottom()) $("new-below").hidden = true;
    });
    $("new-below").addEventListener("click", scrollToBottom);
    window.addEventListener("online", () => {
      if (state.me && !state.ws) {
        state.retries = 0;
        connect();
      }
    });
  }

  function boot() {
    state.lang = initialLang();
    applyI18n();
    wire();
    // The simulator links here with #token=…: sign in with it, then drop it from the URL.
    const params = hashParams();
    let token = params.get("token");
    if (token) {
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
    } else {
      try { token = sessionStorage.getItem(TOKEN_KEY); } catch (_e) { token = null; }
    }
    if (token) {
      $("signin").hidden = true;
      signIn(token, true).then(() => { if (!state.me) showSignin(); });
    } else {
      showSignin();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
