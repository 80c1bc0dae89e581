/*!
 * Omnigate web chat widget — embeddable, dependency-free, no build step.
 *
 *   <script src="https://gateway.example/webchat/widget.js"
 *           data-title="Destek" data-lang="tr" async></script>
 *
 * Options (data-* attributes of the script tag):
 *   data-title     header title                      (default: "Destek" / "Support")
 *   data-lang      "tr" | "en"                        (default: tr)
 *   data-open      "true" opens the panel on load     (default: closed)
 *   data-color     accent colour, any CSS colour      (default: indigo)
 *   data-position  "right" | "left"                   (default: right)
 *   data-theme     "light" | "dark" | "auto" (follows the OS)   (default: light)
 *   data-endpoint  WebSocket URL override             (default: ws(s)://<script host>/webchat/ws)
 *
 * JS API: window.Omnigate.open(), .close(), .toggle(), .send(text), .identify(claims), .reset(); read-only
 * .state ("idle" | "connecting" | "open" | "reconnecting"), .customerId, .version.
 *
 * It speaks the gateway's public web chat protocol (JSON text frames, see the README):
 * session -> history -> live message / ack / error / pong frames from the server;
 * message / button / ping frames from the client. Everything the server sends is rendered
 * as text (textContent, never innerHTML), so a message can never inject markup.
 */
(function () {
  "use strict";

  // Loaded twice (two snippets, SPA re-render): keep the first instance.
  if (window.Omnigate && window.Omnigate.version) return;

  var VERSION = "1.0.0";
  var PING_INTERVAL = 25000; // the server answers every ping with a pong
  var STALE_AFTER = 65000; // no frame at all for this long: the socket is dead, reconnect
  var BACKOFF_BASE = 500;
  var BACKOFF_MAX = 30000;
  var HISTORY_WAIT = 1500; // resend pending messages even if a history frame never comes
  var TYPING_TIMEOUT = 6000;
  var NOTICE_TIMEOUT = 9000;

  // ---------------------------------------------------------------- configuration

  var script = document.currentScript || findOwnScript();
  var opts = (script && script.dataset) || {};
  var scriptUrl = new URL((script && script.src) || location.href, location.href);
  // The gateway serving this file is the one to talk to, whatever page embeds it.
  var WS_URL =
    opts.endpoint ||
    (scriptUrl.protocol === "https:" ? "wss:" : "ws:") + "//" + scriptUrl.host + "/webchat/ws";

  function findOwnScript() {
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/webchat\/widget\.js([?#]|$)/.test(all[i].src)) return all[i];
    }
    return null;
  }

  var STRINGS = {
    tr: {
      title: "Destek",
      subtitle: "Genellikle birkaç saniye içinde yanıt veririz",
      openChat: "Sohbeti aç",
      closeChat: "Sohbeti kapat",
      messages: "Mesajlar",
      inputLabel: "Mesajınız",
      placeholder: "Bir mesaj yazın…",
      send: "Gönder",
      emptyTitle: "Merhaba!",
      empty: "Size nasıl yardımcı olabiliriz? Siparişiniz, kargo ya da iade hakkında yazabilirsiniz.",
      conn: {
        idle: "Çevrimiçi",
        connecting: "Bağlanıyor…",
        open: "Çevrimiçi",
        reconnecting: "Yeniden bağlanıyor…",
      },
      status: { sending: "Gönderiliyor…", sent: "Gönderildi", failed: "Gönderilemedi" },
      sender: { customer: "Siz", bot: "Asistan", agent: "Temsilci", system: "Bilgi" },
      errors: {
        too_large: "Mesajınız çok uzun; lütfen kısaltıp yeniden gönderin.",
        rate_limited: "Çok hızlı mesaj gönderiyorsunuz; birkaç saniye sonra yeniden denenecek.",
        bad_frame: "Mesaj okunamadı; lütfen yeniden deneyin.",
        unknown_type: "Bu işlem desteklenmiyor.",
        bad_session: "Oturumunuz sona erdi; yeni bir sohbet başlatılıyor.",
        unavailable: "Hizmet şu anda yanıt veremiyor; mesajınız birazdan yeniden gönderilecek.",
        generic: "Bir sorun oluştu; lütfen yeniden deneyin.",
      },
      attachment: "Ek",
      typing: "Yazıyor…",
      dismiss: "Bildirimi kapat",
      unread: function (n) {
        return n + " okunmamış mesaj";
      },
      announce: function (who, text) {
        return who + ": " + text;
      },
    },
    en: {
      title: "Support",
      subtitle: "We usually reply in a few seconds",
      openChat: "Open chat",
      closeChat: "Close chat",
      messages: "Messages",
      inputLabel: "Your message",
      placeholder: "Type a message…",
      send: "Send",
      emptyTitle: "Hi there!",
      empty: "How can we help? Ask about your order, shipping or returns.",
      conn: {
        idle: "Online",
        connecting: "Connecting…",
        open: "Online",
        reconnecting: "Reconnecting…",
      },
      status: { sending: "Sending…", sent: "Sent", failed: "Not sent" },
      sender: { customer: "You", bot: "Assistant", agent: "Agent", system: "Info" },
      errors: {
        too_large: "Your message is too long; please shorten it and send again.",
        rate_limited: "You are sending messages very fast; we will retry in a few seconds.",
        bad_frame: "That message could not be read; please try again.",
        unknown_type: "That action is not supported.",
        bad_session: "Your session has expired; starting a new conversation.",
        unavailable: "The service is not responding right now; your message will be resent shortly.",
        generic: "Something went wrong; please try again.",
      },
      attachment: "Attachment",
      typing: "Typing…",
      dismiss: "Dismiss notice",
      unread: function (n) {
        return n + (n === 1 ? " unread message" : " unread messages");
      },
      announce: function (who, text) {
        return who + ": " + text;
      },
    },
  };

  var pageLang = (document.documentElement.lang || "").slice(0, 2).toLowerCase();
  var LANG = STRINGS[opts.lang] ? opts.lang : STRINGS[pageLang] ? pageLang : "tr";
  var T = STRINGS[LANG];
  var TITLE = opts.title || T.title;
  var CHANNEL_NAMES = {
    whatsapp: "WhatsApp",
    sms: "SMS",
    telegram: "Telegram",
    slack: "Slack",
    email: "E-mail",
  };

  // ---------------------------------------------------------------- storage

  // localStorage can be missing or throw (privacy modes, sandboxed iframes, quota): fall back
  // to memory so the widget still works for this page view.
  function makeStore(kind, prefix) {
    var memory = {};
    var backend = null;
    try {
      backend = window[kind];
      var probe = prefix + "probe";
      backend.setItem(probe, "1");
      backend.removeItem(probe);
    } catch (e) {
      backend = null;
    }
    return {
      get: function (key) {
        try {
          var raw = backend ? backend.getItem(prefix + key) : memory[key];
          return raw == null ? null : JSON.parse(raw);
        } catch (e) {
          return null;
        }
      },
      set: function (key, value) {
        var raw = JSON.stringify(value);
        memory[key] = raw;
        try {
          if (backend) backend.setItem(prefix + key, raw);
        } catch (e) {
          /* quota: the memory copy still serves this page */
        }
      },
      remove: function (key) {
        delete memory[key];
        try {
          if (backend) backend.removeItem(prefix + key);
        } catch (e) {
          /* ignore */
        }
      },
    };
  }

  // Keyed by the gateway's host, so two gateways embedded on one site never mix sessions.
  var store = makeStore("localStorage", "omnigate:" + scriptUrl.host + ":");
  var tabStore = makeStore("sessionStorage", "omnigate:" + scriptUrl.host + ":");

  function newClientId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    if (c && typeof c.getRandomValues === "function") {
      var bytes = c.getRandomValues(new Uint8Array(16));
      return Array.prototype.map
        .call(bytes, function (b) {
          return (b + 256).toString(16).slice(1);
        })
        .join("");
    }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // ---------------------------------------------------------------- state

  var ws = null; // the live socket, or null
  var socketHasSession = false; // a session frame arrived on the current socket
  var conn = "idle";
  var attempt = 0; // reconnect attempts since the last good session
  var everConnected = false;
  var reconnectTimer = null;
  var pingTimer = null;
  var historyTimer = null;
  var badSessionTimer = null;
  var retryTimer = null;
  var typingTimer = null;
  var noticeTimer = null;
  var lastFrameAt = 0;
  var session = store.get("session");
  var customerId = null;
  var isOpen = false;
  var unread = 0;
  // Messages typed but not yet acknowledged by the server, oldest first. They survive a reload
  // and are resent with the same client_id after every (re)connect; the server dedupes them.
  var pending = store.get("pending") || [];
  if (!Array.isArray(pending)) pending = [];
  var inflight = []; // client_ids sent on the current socket and not acked yet, in order
  var byId = new Map(); // server message id -> item
  var byClientId = new Map(); // client_id -> item

  // ---------------------------------------------------------------- DOM

  // Dark palette, for data-theme="dark" and (following the OS) data-theme="auto".
  var DARK =
    "ROOT{--og-bg:#171923;--og-fg:#eceef5;--og-muted:#9aa0b4;--og-line:#2b2f3d;--og-soft:#232634;" +
    "--og-agent:#193a2d}ROOT .badge{border-color:#171923}" +
    "ROOT .msg[data-status=failed] .bubble{background:#4c1d1d;color:#fecaca}" +
    "ROOT .notice{background:#3b2413;border-color:#7c3f12;color:#fed7aa}";

  var CSS = [
    ":host{all:initial}",
    "*,*::before,*::after{box-sizing:border-box}",
    ".root{--og-accent:" + safeColor(opts.color) + ";--og-bg:#fff;--og-fg:#1f2330;",
    "--og-muted:#6b7183;--og-line:#e7e8ef;--og-soft:#f3f4f8;--og-agent:#eaf6f0;",
    "--og-radius:18px;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',",
    "Arial,'Noto Sans',sans-serif;color:var(--og-fg);-webkit-font-smoothing:antialiased}",
    "button{font:inherit;color:inherit;cursor:pointer}",
    ".sr{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;",
    "clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    // Launcher
    ".launcher{position:fixed;bottom:20px;right:20px;width:60px;height:60px;border-radius:50%;",
    "border:0;background:var(--og-accent);color:#fff;display:grid;place-items:center;",
    "box-shadow:0 8px 24px rgba(20,20,60,.28),0 2px 6px rgba(20,20,60,.18);",
    "transition:transform .18s ease,box-shadow .18s ease;z-index:2}",
    ".launcher:hover{transform:translateY(-2px) scale(1.04)}",
    ".launcher:focus-visible,.icon-btn:focus-visible,.send:focus-visible,.chip:focus-visible{",
    "outline:3px solid color-mix(in srgb,var(--og-accent) 45%,#fff);outline-offset:2px}",
    ".launcher svg{width:28px;height:28px;transition:transform .2s ease,opacity .2s ease}",
    ".launcher .i-close{position:absolute;opacity:0;transform:rotate(-90deg)}",
    ".root.is-open .launcher .i-chat{opacity:0;transform:rotate(90deg)}",
    ".root.is-open .launcher .i-close{opacity:1;transform:none}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:22px;height:22px;padding:0 6px;",
    "border-radius:11px;background:#ef4444;color:#fff;font-size:12px;font-weight:700;",
    "line-height:22px;text-align:center;border:2px solid #fff}",
    ".badge[hidden]{display:none}",
    // Panel
    ".panel{position:fixed;bottom:92px;right:20px;width:380px;height:min(620px,calc(100vh - 112px));",
    "display:flex;flex-direction:column;background:var(--og-bg);border-radius:var(--og-radius);",
    "overflow:hidden;box-shadow:0 24px 60px rgba(20,20,60,.22),0 4px 14px rgba(20,20,60,.12);",
    "transform-origin:bottom right;transition:opacity .18s ease,transform .18s ease;z-index:1}",
    ".panel[hidden]{display:none}",
    ".panel.entering{opacity:0;transform:translateY(12px) scale(.98)}",
    ".root.left .launcher{right:auto;left:20px}",
    ".root.left .panel{right:auto;left:20px;transform-origin:bottom left}",
    // Header
    ".header{display:flex;align-items:center;gap:12px;padding:16px 14px 16px 18px;color:#fff;",
    "background:linear-gradient(135deg,var(--og-accent),color-mix(in srgb,var(--og-accent) 70%,#0ea5e9))}",
    ".avatar{flex:none;width:40px;height:40px;border-radius:50%;display:grid;place-items:center;",
    "background:rgba(255,255,255,.2);font-weight:700;font-size:17px}",
    ".heading{flex:1;min-width:0}",
    ".title{margin:0;font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".conn{display:flex;align-items:center;gap:6px;font-size:12.5px;opacity:.92}",
    ".dot{width:8px;height:8px;border-radius:50%;background:#4ade80;box-shadow:0 0 0 2px rgba(255,255,255,.35)}",
    ".conn[data-state=connecting] .dot,.conn[data-state=reconnecting] .dot{background:#fbbf24;",
    "animation:og-pulse 1.2s ease-in-out infinite}",
    ".icon-btn{flex:none;width:36px;height:36px;border-radius:50%;border:0;background:transparent;",
    "color:#fff;display:grid;place-items:center}",
    ".icon-btn:hover{background:rgba(255,255,255,.16)}",
    ".icon-btn svg{width:20px;height:20px}",
    // Message list
    ".scroller{flex:1;overflow-y:auto;padding:18px 14px 8px;background:var(--og-bg);",
    "scroll-behavior:smooth;overscroll-behavior:contain}",
    ".empty{margin:28px auto 18px;max-width:80%;text-align:center;color:var(--og-muted);font-size:14px}",
    ".empty b{display:block;margin:12px 0 2px;color:var(--og-fg);font-size:17px;font-weight:650}",
    ".empty .wave{width:56px;height:56px;margin:0 auto;border-radius:50%;display:grid;place-items:center;",
    "color:var(--og-accent);background:color-mix(in srgb,var(--og-accent) 12%,var(--og-bg))}",
    ".empty .wave svg{width:28px;height:28px}",
    ".empty[hidden]{display:none}",
    ".list{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}",
    ".msg{display:flex;flex-direction:column;align-items:flex-start;max-width:86%;",
    "animation:og-in .2s ease-out}",
    ".msg[data-sender=customer]{align-self:flex-end;align-items:flex-end}",
    ".msg[data-sender=system]{align-self:center;align-items:center;max-width:92%}",
    ".bubble{padding:9px 13px;border-radius:16px;background:var(--og-soft);white-space:pre-wrap;",
    "overflow-wrap:anywhere;word-break:break-word;max-height:22em;overflow-y:auto}",
    ".msg[data-sender=bot] .bubble{border-bottom-left-radius:5px}",
    ".msg[data-sender=agent] .bubble{background:var(--og-agent);border-bottom-left-radius:5px}",
    ".msg[data-sender=customer] .bubble{background:var(--og-accent);color:#fff;border-bottom-right-radius:5px}",
    ".msg[data-sender=system] .bubble{background:transparent;color:var(--og-muted);font-size:13px;",
    "text-align:center;padding:2px 8px}",
    ".msg[data-status=sending] .bubble{opacity:.72}",
    ".msg[data-status=failed] .bubble{background:#fee2e2;color:#7f1d1d;max-height:8.7em}",
    ".bubble a{color:inherit;text-decoration:underline;text-underline-offset:2px}",
    ".meta{display:flex;align-items:center;gap:6px;margin:3px 4px 0;font-size:11.5px;color:var(--og-muted)}",
    ".msg[data-status=failed] .meta .st{color:#b91c1c;font-weight:600}",
    ".msg[data-status=sent] .meta .st{color:var(--og-accent);font-weight:700}",
    ".channel{padding:1px 7px;border-radius:999px;background:var(--og-soft);border:1px solid var(--og-line);",
    "font-size:10.5px;font-weight:600;letter-spacing:.02em;color:var(--og-muted)}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:7px}",
    ".chip{border:1.5px solid var(--og-accent);background:var(--og-bg);color:var(--og-accent);",
    "border-radius:999px;padding:6px 13px;font-size:13.5px;font-weight:550;",
    "transition:background .15s ease,color .15s ease}",
    ".chip:hover{background:var(--og-accent);color:#fff}",
    ".typing{display:flex;gap:4px;align-items:center;width:fit-content;margin:10px 0 4px;",
    "padding:11px 14px;border-radius:16px;border-bottom-left-radius:5px;background:var(--og-soft)}",
    ".typing[hidden]{display:none}",
    ".typing i{width:7px;height:7px;border-radius:50%;background:var(--og-muted);opacity:.5;",
    "animation:og-dot 1.2s infinite}",
    ".typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}",
    // Notice (error frames)
    ".notice{display:flex;align-items:flex-start;gap:8px;margin:0 12px 8px;padding:9px 8px 9px 12px;",
    "border-radius:12px;background:#fff7ed;border:1px solid #fed7aa;color:#7c2d12;font-size:13px}",
    ".notice[hidden]{display:none}",
    ".notice span{flex:1}",
    ".notice button{border:0;background:transparent;color:inherit;font-size:16px;line-height:1;padding:2px 6px;border-radius:6px}",
    // Composer
    ".composer{display:flex;align-items:flex-end;gap:8px;padding:10px 12px 12px;border-top:1px solid var(--og-line);",
    "background:var(--og-bg)}",
    ".input{flex:1;resize:none;min-height:44px;max-height:132px;padding:11px 14px;border-radius:22px;",
    "border:1.5px solid var(--og-line);background:var(--og-soft);color:var(--og-fg);font:inherit;",
    "line-height:1.4;outline:none;transition:border-color .15s ease,background .15s ease}",
    ".input:focus{border-color:var(--og-accent);background:var(--og-bg)}",
    ".input::placeholder{color:var(--og-muted)}",
    ".send{flex:none;width:44px;height:44px;border-radius:50%;border:0;background:var(--og-accent);",
    "color:#fff;display:grid;place-items:center;transition:transform .12s ease,opacity .15s ease}",
    ".send:active{transform:scale(.94)}",
    ".send[aria-disabled=true]{opacity:.45}",
    ".send svg{width:20px;height:20px;margin-left:2px}",
    ".brand{padding:0 0 8px;text-align:center;font-size:11px;color:var(--og-muted);background:var(--og-bg)}",
    "@keyframes og-in{from{opacity:0;transform:translateY(6px)}to{opacity:1;transform:none}}",
    "@keyframes og-dot{0%,60%,100%{opacity:.35;transform:none}30%{opacity:1;transform:translateY(-3px)}}",
    "@keyframes og-pulse{50%{opacity:.4}}",
    // Phones: the panel takes the whole screen and the launcher hides behind it.
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;height:100dvh;border-radius:0;bottom:0;right:0}",
    ".root.left .panel{left:0}.root.is-open .launcher{display:none}",
    ".composer{padding-bottom:max(12px,env(safe-area-inset-bottom))}",
    ".header{padding-top:max(16px,env(safe-area-inset-top))}",
    ".input{font-size:16px}}", // 16px stops iOS from zooming into the field
    DARK.replace(/ROOT/g, ".root.theme-dark"),
    "@media (prefers-color-scheme:dark){" + DARK.replace(/ROOT/g, ".root.theme-auto") + "}",
    "@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;",
    "transition:none!important;scroll-behavior:auto!important}}",
  ].join("");

  // Static markup only: no server data ever passes through innerHTML.
  var ICON_CHAT =
    '<svg class="i-chat" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 ' +
    '7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/><path d="M8.5 12h.01M12 12h.01M15.5 12h.01" stroke-width="2.6"/></svg>';
  var ICON_CLOSE =
    '<svg class="i-close" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" ' +
    'stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';
  var ICON_MIN =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" ' +
    'stroke-linecap="round" aria-hidden="true"><path d="M6 9l6 6 6-6"/></svg>';
  var ICON_SEND =
    '<svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M3.4 20.4 21 12 ' +
    '3.4 3.6l-.1 6.6L15 12 3.3 13.8z"/></svg>';

  var TEMPLATE =
    '<div class="root" part="root">' +
    '<section class="panel" data-testid="omnigate-panel" role="dialog" hidden>' +
    '<header class="header"><div class="avatar" aria-hidden="true"></div>' +
    '<div class="heading"><h2 class="title"></h2>' +
    '<div class="conn" data-testid="omnigate-status" data-state="idle"><span class="dot" aria-hidden="true"></span>' +
    '<span class="conn-text"></span></div></div>' +
    '<button type="button" class="icon-btn close" data-testid="omnigate-close">' + ICON_MIN + "</button>" +
    "</header>" +
    '<div class="scroller"><div class="empty"><div class="wave" aria-hidden="true">' +
    ICON_CHAT.replace('class="i-chat" ', "") + "</div><b></b><span></span></div>" +
    '<ol class="list" data-testid="omnigate-messages"></ol><ol class="list" data-testid="omnigate-messages"></ol>' +
    '<div class="typing" data-testid="omnigate-typing" hidden><i></i><i></i><i></i></div></div>' +
    '<div class="notice" data-testid="omnigate-error" role="alert" hidden><span></span>' +
    '<button type="button" class="dismiss">×</button></div>' +
    '<form class="composer" novalidate><label class="sr" for="og-input"></label>' +
    '<textarea id="og-input" class="input" data-testid="omnigate-input" rows="1" ' +
    'autocomplete="off" enterkeyhint="send"></textarea>' +
    '<button type="submit" class="send" data-testid="omnigate-send">' + ICON_SEND + "</button></form>" +
    '<div class="brand">Omnigate</div>' +
    '<div class="sr live" aria-live="polite" aria-atomic="false"></div>' +
    "</section>" +
    '<button type="button" class="launcher" data-testid="omnigate-launcher" aria-expanded="false">' +
    ICON_CHAT + ICON_CLOSE + '<span class="badge" data-testid="omnigate-unread" hidden></span></button>' +
    "</div>";

  // Only accept a plain colour token for data-color (it lands in a stylesheet).
  function safeColor(value) {
    return /^(#[0-9a-f]{3,8}|[a-z]{3,20}|(rgb|hsl)a?\([0-9.,%\s]+\))$/i.test(value || "")
      ? value
      : "#5146e5";
  }

  var host, root, ui;

  function build() {
    host = document.createElement("omnigate-webchat");
    // Inline !important beats anything a host stylesheet can say about our element.
    host.setAttribute(
      "style",
      "all:initial!important;display:block!important;position:static!important;" +
        "width:0!important;height:0!important;"
    );
    var shadow = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = CSS;
    var wrap = document.createElement("div");
    wrap.innerHTML = TEMPLATE; // constant template, see above
    shadow.appendChild(style);
    root = wrap.firstChild;
    shadow.appendChild(root);

    var $ = function (sel) {
      return root.querySelector(sel);
    };
    ui = {
      panel: $(".panel"),
      title: $(".title"),
      avatar: $(".avatar"),
      conn: $(".conn"),
      connText: $(".conn-text"),
      close: $(".close"),
      scroller: $(".scroller"),
      empty: $(".empty"),
      list: $(".list"),
      typing: $(".typing"),
      notice: $(".notice"),
      noticeText: $(".notice span"),
      dismiss: $(".dismiss"),
      form: $(".composer"),
      label: $("label"),
      input: $(".input"),
      send: $(".send"),
      live: $(".live"),
      launcher: $(".launcher"),
      badge: $(".badge"),
    };

    root.setAttribute("lang", LANG);
    if (opts.position === "left") root.classList.add("left");
    // Light by default: a brand page is designed in one scheme, the chat should match it.
    root.classList.add("theme-" + (opts.theme === "dark" || opts.theme === "auto" ? opts.theme : "light"));
    ui.panel.id = "omnigate-panel";
    ui.panel.setAttribute("aria-label", TITLE);
    ui.launcher.setAttribute("aria-controls", "omnigate-panel");
    ui.title.textContent = TITLE;
    ui.avatar.textContent = (TITLE.trim().charAt(0) || "?").toLocaleUpperCase(LANG);
    ui.close.setAttribute("aria-label", T.closeChat);
    ui.close.title = T.closeChat;
    ui.empty.querySelector("b").textContent = T.emptyTitle;
    ui.empty.querySelector("span").textContent = T.empty;
    ui.list.setAttribute("aria-label", T.messages);
    ui.typing.setAttribute("aria-label", T.typing);
    ui.dismiss.setAttribute("aria-label", T.dismiss);
    ui.label.textContent = T.inputLabel;
    ui.input.placeholder = T.placeholder;
    ui.send.setAttribute("aria-label", T.send);
    ui.send.title = T.send;
    ui.send.setAttribute("aria-disabled", "true");
    updateLauncherLabel();
    renderConn();

    ui.launcher.addEventListener("click", function () {
      isOpen ? close() : open(false);
    });
    ui.close.addEventListener("click", function () {
      close();
    });
    ui.dismiss.addEventListener("click", hideNotice);
    ui.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submitInput();
    });
    ui.input.addEventListener("keydown", function (ev) {
      // Enter sends, Shift+Enter is a new line; never while an IME is composing a word.
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        submitInput();
      }
    });
    ui.input.addEventListener("input", autosize);
    ui.panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") {
        ev.stopPropagation();
        close();
      }
    });

    document.body.appendChild(host);
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 3, 132) + "px";
    ui.send.setAttribute("aria-disabled", ui.input.value.trim() ? "false" : "true");
  }

  function updateLauncherLabel() {
    var label = isOpen ? T.closeChat : T.openChat;
    if (!isOpen && unread) label += " (" + T.unread(unread) + ")";
    ui.launcher.setAttribute("aria-label", label);
    ui.launcher.setAttribute("aria-expanded", isOpen ? "true" : "false");
    ui.badge.hidden = isOpen || !unread;
    ui.badge.textContent = unread > 9 ? "9+" : String(unread);
  }

  // ---------------------------------------------------------------- open / close

  // `quiet`: opened by the page itself on load (data-open), not by the person. Then focus stays
  // where it is: moving it unasked would yank screen-reader users and pop up phone keyboards.
  function open(quiet) {
    if (isOpen) return;
    isOpen = true;
    tabStore.set("open", true);
    root.classList.add("is-open");
    ui.panel.hidden = false;
    ui.panel.classList.add("entering");
    requestAnimationFrame(function () {
      ui.panel.classList.remove("entering");
    });
    unread = 0;
    updateLauncherLabel();
    ensureConnected();
    scrollToBottom(true);
    if (quiet) return;
    // The person opened the chat: focus goes into the dialog, ready to type.
    setTimeout(function () {
      ui.input.focus({ preventScroll: true });
    }, 30);
  }

  function close() {
    if (!isOpen) return;
    var hadFocus = host.shadowRoot.activeElement && ui.panel.contains(host.shadowRoot.activeElement);
    isOpen = false;
    tabStore.set("open", false);
    root.classList.remove("is-open");
    ui.panel.hidden = true;
    updateLauncherLabel();
    if (hadFocus) ui.launcher.focus(); // give focus back where the dialog was opened from
  }

  // ---------------------------------------------------------------- rendering

  function fmtTime(value) {
    var d = value ? new Date(value) : new Date();
    if (isNaN(d.getTime())) return "";
    var sameDay = d.toDateString() === new Date().toDateString();
    try {
      return new Intl.DateTimeFormat(
        LANG,
        sameDay
          ? { hour: "2-digit", minute: "2-digit" }
          : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }
      ).format(d);
    } catch (e) {
      return d.toLocaleTimeString();
    }
  }

  // Appends `text` to `el` as text nodes, turning http(s) URLs into links. Still no markup
  // parsing: every piece is a text node or an <a> built through the DOM API.
  function appendText(el, text) {
    var re = /https?:\/\/[^\s<>"']+/g;
    var last = 0;
    var m;
    while ((m = re.exec(text))) {
      var url = m[0].replace(/[.,;:!?)\]]+$/, "");
      if (m.index > last) el.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = document.createElement("a");
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      a.textContent = url;
      el.appendChild(a);
      last = m.index + url.length;
      re.lastIndex = last;
    }
    if (last < text.length) el.appendChild(document.createTextNode(text.slice(last)));
  }

  var SENDERS = ["customer", "bot", "agent", "system"];

  function normalize(m) {
    var sender =
      SENDERS.indexOf(m.sender) >= 0 ? m.sender : m.direction === "in" ? "customer" : "bot";
    var buttons = Array.isArray(m.buttons)
      ? m.buttons.filter(function (b) {
          return b && typeof b === "object" && (b.title != null || b.payload != null);
        })
      : [];
    return {
      id: m.id != null ? String(m.id) : null,
      client_id: typeof m.client_id === "string" && m.client_id ? m.client_id : null,
      sender: sender,
      text: m.text == null ? "" : String(m.text),
      buttons: buttons,
      media: Array.isArray(m.media) ? m.media : [],
      channel: typeof m.channel === "string" && m.channel ? m.channel : "webchat",
      created_at: m.created_at || null,
      status: sender === "customer" ? "sent" : "received",
      el: null,
    };
  }

  function renderItem(item) {
    var li = document.createElement("li");
    li.className = "msg";
    li.setAttribute("data-testid", "omnigate-message");
    li.setAttribute("data-sender", item.sender);

    var bubble = document.createElement("div");
    bubble.className = "bubble";
    appendText(bubble, item.text);
    item.media.forEach(function (media, i) {
      var url = media && typeof media === "object" ? media.url : media;
      var label = "📎 " + T.attachment + (item.media.length > 1 ? " " + (i + 1) : "");
      if (bubble.childNodes.length) bubble.appendChild(document.createTextNode("\n"));
      if (typeof url === "string" && /^https?:\/\//i.test(url)) {
        var a = document.createElement("a");
        a.href = url;
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow";
        a.textContent = label;
        bubble.appendChild(a);
      } else {
        bubble.appendChild(document.createTextNode(label));
      }
    });
    li.appendChild(bubble);

    if (item.buttons.length) {
      var chips = document.createElement("div");
      chips.className = "chips";
      item.buttons.forEach(function (b) {
        var title = String(b.title != null ? b.title : b.payload);
        var payload = String(b.payload != null ? b.payload : b.title);
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "chip";
        btn.setAttribute("data-testid", "omnigate-button");
        btn.setAttribute("data-payload", payload);
        btn.textContent = title;
        btn.addEventListener("click", function () {
          sendButton(title, payload);
        });
        chips.appendChild(btn);
      });
      li.appendChild(chips);
    }

    var meta = document.createElement("div");
    meta.className = "meta";
    if (item.sender === "bot" || item.sender === "agent") {
      var who = document.createElement("span");
      who.textContent = T.sender[item.sender];
      meta.appendChild(who);
    }
    if (item.channel !== "webchat") {
      // Part of the same conversation, but written or delivered on another channel.
      var badge = document.createElement("span");
      badge.className = "channel";
      badge.setAttribute("data-testid", "omnigate-channel");
      badge.textContent = CHANNEL_NAMES[item.channel] || item.channel;
      meta.appendChild(badge);
    }
    var time = document.createElement("time");
    time.textContent = fmtTime(item.created_at);
    if (item.created_at) time.setAttribute("datetime", String(item.created_at));
    meta.appendChild(time);
    if (item.sender === "customer") {
      var st = document.createElement("span");
      st.className = "st";
      meta.appendChild(st);
    }
    li.appendChild(meta);
    item.el = li;
    renderStatus(item);
    return li;
  }

  function renderStatus(item) {
    if (!item.el) return;
    item.el.setAttribute("data-status", item.status);
    if (item.id) item.el.setAttribute("data-id", item.id);
    if (item.client_id) item.el.setAttribute("data-client-id", item.client_id);
    var st = item.el.querySelector(".st");
    if (!st) return;
    // Sent is the normal case: a quiet tick (named for screen readers); the others are words.
    st.textContent = "";
    if (item.status === "sent") {
      var tick = document.createElement("span");
      tick.setAttribute("aria-hidden", "true");
      tick.textContent = "✓";
      var name = document.createElement("span");
      name.className = "sr";
      name.textContent = T.status.sent;
      st.appendChild(tick);
      st.appendChild(name);
      st.title = T.status.sent;
    } else {
      st.textContent = T.status[item.status];
      st.title = "";
    }
  }

  function nearBottom() {
    var s = ui.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  function scrollToBottom(force) {
    if (force || nearBottom()) {
      requestAnimationFrame(function () {
        ui.scroller.scrollTop = ui.scroller.scrollHeight;
      });
    }
  }

  function register(item) {
    if (item.id) byId.set(item.id, item);
    if (item.client_id) byClientId.set(item.client_id, item);
  }

  // Inserts a message after `after` (a rendered <li>), or at the end when `after` is undefined.
  function addItem(item, after) {
    var stick = nearBottom() || item.sender === "customer";
    var li = renderItem(item);
    if (after === undefined) ui.list.appendChild(li);
    else ui.list.insertBefore(li, after ? after.nextSibling : ui.list.firstChild);
    register(item);
    ui.empty.hidden = true;
    if (stick) scrollToBottom(true);
    return item;
  }

  function announce(item) {
    // A dedicated polite live region (not the list itself): history replays after a reload
    // stay silent, and each new incoming message is read once.
    var who = T.sender[item.sender] || "";
    var line = document.createElement("div");
    line.textContent = T.announce(who, item.text);
    ui.live.appendChild(line);
    while (ui.live.childNodes.length > 3) ui.live.removeChild(ui.live.firstChild);
  }

  function clearTranscript() {
    ui.list.textContent = "";
    byId.clear();
    byClientId.clear();
    ui.empty.hidden = false;
    // Messages still waiting for an ack are the customer's words: keep showing them.
    pending.forEach(function (p) {
      addItem(pendingItem(p));
    });
  }

  function showTyping() {
    ui.typing.hidden = false;
    scrollToBottom(false);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    ui.typing.hidden = true;
  }

  function showNotice(text, code) {
    ui.noticeText.textContent = text;
    ui.notice.setAttribute("data-code", code || "");
    ui.notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(hideNotice, NOTICE_TIMEOUT);
  }

  function hideNotice() {
    clearTimeout(noticeTimer);
    ui.notice.hidden = true;
  }

  function setConn(next) {
    conn = next;
    renderConn();
  }

  function renderConn() {
    ui.conn.setAttribute("data-state", conn);
    ui.connText.textContent = T.conn[conn];
  }

  // ---------------------------------------------------------------- sending

  function savePending() {
    if (pending.length) store.set("pending", pending);
    else store.remove("pending");
  }

  function pendingItem(p) {
    return {
      id: null,
      client_id: p.client_id,
      sender: "customer",
      text: p.text,
      buttons: [],
      media: [],
      channel: "webchat",
      created_at: p.created_at,
      status: "sending",
      el: null,
    };
  }

  function queue(entry) {
    pending.push(entry);
    savePending();
    addItem(pendingItem(entry));
    transmit(entry);
    ensureConnected();
    return entry.client_id;
  }

  function submitInput() {
    var text = ui.input.value;
    if (!text.trim()) return;
    ui.input.value = "";
    autosize();
    sendText(text);
  }

  function sendText(text) {
    text = String(text == null ? "" : text).replace(/\s+$/, "");
    if (!text.trim()) return null;
    return queue({
      type: "message",
      text: text,
      client_id: newClientId(),
      created_at: new Date().toISOString(),
    });
  }

  function sendButton(title, payload) {
    // The button's title is what the customer "said"; the payload is what the bot routes on.
    return queue({
      type: "button",
      text: title,
      payload: payload,
      client_id: newClientId(),
      created_at: new Date().toISOString(),
    });
  }

  // Sends a pending entry if the socket is ready; otherwise it waits for the next connect.
  function transmit(entry) {
    if (!ws || ws.readyState !== 1 || !socketHasSession) return;
    if (inflight.indexOf(entry.client_id) >= 0) return;
    var frame =
      entry.type === "button"
        ? // `title` is optional in the protocol; the server stores it as what the customer said.
          { type: "button", payload: entry.payload, title: entry.text, client_id: entry.client_id }
        : { type: "message", text: entry.text, client_id: entry.client_id };
    try {
      ws.send(JSON.stringify(frame));
      inflight.push(entry.client_id);
    } catch (e) {
      /* the close handler reconnects and the entry is still pending */
    }
  }

  function flushPending() {
    clearTimeout(historyTimer);
    pending.slice().forEach(transmit);
  }

  function dropPending(clientId) {
    pending = pending.filter(function (p) {
      return p.client_id !== clientId;
    });
    savePending();
    inflight = inflight.filter(function (c) {
      return c !== clientId;
    });
  }

  function markSent(item, id) {
    if (id != null && !item.id) {
      item.id = String(id);
      byId.set(item.id, item);
    }
    item.status = "sent";
    if (item.client_id) dropPending(item.client_id);
    renderStatus(item);
  }

  function markFailed(item) {
    item.status = "failed";
    if (item.client_id) dropPending(item.client_id);
    renderStatus(item);
  }

  // ---------------------------------------------------------------- connection

  function ensureConnected() {
    if (ws || reconnectTimer) return;
    connect();
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (ws) return;
    setConn(everConnected || attempt ? "reconnecting" : "connecting");
    var url = WS_URL;
    if (session) url += (url.indexOf("?") >= 0 ? "&" : "?") + "session=" + encodeURIComponent(session);
    var sock;
    try {
      sock = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    socketHasSession = false;
    inflight = [];
    sock.onopen = function () {
      lastFrameAt = Date.now();
      startPing();
    };
    sock.onmessage = function (ev) {
      if (sock !== ws) return;
      lastFrameAt = Date.now();
      var frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        return; // not JSON: ignore rather than break the chat
      }
      if (frame && typeof frame === "object") handleFrame(frame);
    };
    sock.onclose = function () {
      if (sock !== ws) return;
      dropSocket();
      scheduleReconnect();
    };
    sock.onerror = function () {
      /* a close event always follows */
    };
  }

  function dropSocket() {
    var sock = ws;
    ws = null;
    socketHasSession = false;
    inflight = [];
    stopPing();
    clearTimeout(historyTimer);
    clearTimeout(badSessionTimer);
    hideTyping();
    if (sock) {
      sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
      try {
        sock.close();
      } catch (e) {
        /* already closed */
      }
    }
  }

  // Exponential backoff with "equal jitter": half the window fixed, half random, so a crowd of
  // widgets cut off by a gateway restart does not reconnect in lockstep.
  function scheduleReconnect(immediately) {
    if (reconnectTimer) return;
    var windowMs = Math.min(BACKOFF_MAX, BACKOFF_BASE * Math.pow(2, attempt));
    attempt += 1;
    var delay = immediately ? 0 : windowMs / 2 + Math.random() * (windowMs / 2);
    setConn("reconnecting");
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function reconnectNow() {
    dropSocket();
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    scheduleReconnect(true);
  }

  function startPing() {
    stopPing();
    pingTimer = setInterval(function () {
      if (!ws || ws.readyState !== 1) return;
      if (Date.now() - lastFrameAt > STALE_AFTER) {
        reconnectNow(); // a half-open TCP connection never fires close on its own
        return;
      }
      try {
        ws.send('{"type":"ping"}');
      } catch (e) {
        /* close handler takes over */
      }
    }, PING_INTERVAL);
  }

  function stopPing() {
    clearInterval(pingTimer);
    pingTimer = null;
  }

  function handleFrame(f) {
    switch (f.type) {
      case "session":
        return onSession(f);
      case "history":
        return onHistory(f);
      case "ack":
        return onAck(f);
      case "message":
        return onMessage(f);
      case "error":
        return onError(f);
      case "identified":
        // The site's signed user: the visit joined that customer (a history frame follows).
        customerId = f.customer_id != null ? String(f.customer_id) : customerId;
        return;
      default:
        return; // pong, and frame types of newer servers
    }
  }

  function onSession(f) {
    clearTimeout(badSessionTimer);
    socketHasSession = true;
    attempt = 0;
    everConnected = true;
    var newCustomer = f.customer_id != null ? String(f.customer_id) : null;
    // A different customer (session expired or reset): the old transcript is not theirs.
    if (customerId !== null && newCustomer !== customerId) clearTranscript();
    customerId = newCustomer;
    if (typeof f.session === "string" && f.session) {
      session = f.session;
      store.set("session", session);
    }
    setConn("open");
    historyTimer = setTimeout(flushPending, HISTORY_WAIT);
    sendIdentity();
  }

  // Signed identity claims from the host page (see README "Signed web chat identity"); sent on
  // every (re)connect, so the socket's session is always linked to the signed-in user.
  var identity = null;
  function sendIdentity() {
    if (!identity || !ws || ws.readyState !== 1 || !socketHasSession) return;
    try {
      ws.send(JSON.stringify(Object.assign({ type: "identify" }, identity)));
    } catch (e) {
      /* resent on the next connect */
    }
  }

  // Merges a history replay into what is shown, without moving or repeating anything: walk the
  // server's order, keep messages we already show, insert new ones right after the previous
  // known one. Our own pending messages found in history were stored (their ack got lost).
  function onHistory(f) {
    var messages = Array.isArray(f.messages) ? f.messages : [];
    var cursor = null;
    messages.forEach(function (raw) {
      if (!raw || typeof raw !== "object") return;
      var item = normalize(raw);
      var known =
        (item.id && byId.get(item.id)) || (item.client_id && byClientId.get(item.client_id));
      if (known) {
        if (known.status !== "sent" && known.sender === "customer") markSent(known, item.id);
        cursor = known.el;
        return;
      }
      addItem(item, cursor);
      cursor = item.el;
    });
    scrollToBottom(true);
    flushPending();
  }

  function onAck(f) {
    var clientId = typeof f.client_id === "string" ? f.client_id : null;
    if (!clientId) return;
    var item = byClientId.get(clientId);
    if (item) {
      var fresh = item.status !== "sent";
      markSent(item, f.id);
      if (fresh) showTyping(); // the bot usually answers next
    } else {
      dropPending(clientId);
    }
  }

  function onMessage(f) {
    var item = normalize(f);
    if (item.id && byId.has(item.id)) return; // already in history
    if (item.sender === "customer" && item.client_id && byClientId.has(item.client_id)) {
      markSent(byClientId.get(item.client_id), item.id);
      return;
    }
    addItem(item);
    if (item.sender !== "customer") {
      hideTyping();
      announce(item);
      if (!isOpen) {
        unread += 1;
        updateLauncherLabel();
      }
    }
  }

  function onError(f) {
    var code = typeof f.code === "string" ? f.code : "";
    var text = T.errors[code] || (typeof f.message === "string" && f.message) || T.errors.generic;
    showNotice(text, code);
    hideTyping();
    var clientId = typeof f.client_id === "string" ? f.client_id : null;
    switch (code) {
      case "bad_session":
        // Forget the token; if this socket does not hand us a fresh session, reconnect anew.
        session = null;
        store.remove("session");
        clearTimeout(badSessionTimer);
        badSessionTimer = setTimeout(function () {
          if (!socketHasSession) reconnectNow();
        }, 1000);
        return;
      case "too_large":
      case "bad_frame":
      case "unknown_type": {
        // The server refused that frame for good: resending it would fail again. Without a
        // client_id in the error, the culprit is the oldest unacked frame of this socket,
        // because the server handles one socket's frames in order.
        var culprit = clientId ? byClientId.get(clientId) : byClientId.get(inflight[0]);
        if (culprit && culprit.status === "sending") markFailed(culprit);
        return;
      }
      case "rate_limited":
      case "unavailable":
        // Not stored, but fine to try again: resend what is unacked after a pause. Same
        // client_ids, so anything that did get stored is only acked again.
        clearTimeout(retryTimer);
        retryTimer = setTimeout(function () {
          inflight = [];
          flushPending();
        }, code === "rate_limited" ? 5000 : 3000);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- start

  function start() {
    build();
    started = true;
    // Show what is still unsent from a previous page right away, as "sending".
    pending.forEach(function (p) {
      addItem(pendingItem(p));
    });
    var wantOpen = opts.open === "true" || opts.open === "" || tabStore.get("open") === true;
    // Connect now only for a returning visitor (or unsent messages); a first-time visitor gets
    // a session when they open the chat, not on every page view.
    if (session || pending.length || wantOpen) connect();
    if (wantOpen) open(true);

    window.addEventListener("online", function () {
      if (!ws) {
        attempt = 0;
        reconnectNow();
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !ws && reconnectTimer && (session || isOpen)) {
        reconnectNow(); // back from a background tab: no need to sit out the backoff
      }
    });
    early.splice(0).forEach(function (fn) {
      fn();
    });
  }

  // API calls made before the page's <body> exists run once the widget is built.
  var started = false;
  var early = [];
  function whenReady(fn) {
    if (started) return fn();
    early.push(fn);
    return null;
  }

  window.Omnigate = {
    version: VERSION,
    open: function () {
      whenReady(function () {
        open(false);
      });
    },
    close: function () {
      whenReady(close);
    },
    toggle: function () {
      whenReady(function () {
        isOpen ? close() : open(false);
      });
    },
    /** Sends `text` as the customer; returns its client_id (null for empty text or if the
     *  widget is not built yet, in which case it is sent as soon as it is). */
    send: function (text) {
      return whenReady(function () {
        return sendText(text);
      });
    },
    /** Links the visitor to the brand's signed-in user: `claims` = {user_id, email, phone,
     *  name, signature} with signature = HMAC-SHA256 computed by the brand's server. */
    identify: function (claims) {
      whenReady(function () {
        identity = claims || null;
        sendIdentity();
      });
    },
    /** Forgets the session (e.g. on logout) and starts a fresh conversation. */
    reset: function () {
      whenReady(function () {
        session = null;
        customerId = null;
        pending = [];
        store.remove("session");
        store.remove("pending");
        clearTranscript();
        reconnectNow();
      });
    },
    get state() {
      return conn;
    },
    get customerId() {
      return customerId;
    },
  };

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
