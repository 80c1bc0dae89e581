/* Omnigate simulator — core: the simulator API, the live feed and a tiny event bus.
 *
 * Sim.state           what GET /simulator/api/state said (tokens, numbers, personas, agent)
 * Sim.api(path, opts) JSON fetch; rejects with Error(message) on a non-2xx answer
 * Sim.rest(path, opts, token) the gateway's REST API with a bearer token (admin by default)
 * Sim.on(type, fn)    feed items: "message", "status", "note"; and "connection"
 * Sim.waitFor(pred, ms) resolves with the first feed message for which pred(msg) is true
 * Sim.messages        every phone message by id (status kept current)
 */
(function () {
  "use strict";

  var listeners = {};
  var lastSeq = 0;
  var socket = null;
  var retry = 0;

  var Sim = (window.Sim = {
    state: null,
    messages: {},
    connected: false,
  });

  /* Subscribe; returns a function that unsubscribes. */
  Sim.on = function (type, fn) {
    (listeners[type] = listeners[type] || []).push(fn);
    return function () {
      listeners[type] = (listeners[type] || []).filter(function (f) {
        return f !== fn;
      });
    };
  };

  Sim.emit = function (type, item) {
    (listeners[type] || []).slice().forEach(function (fn) {
      try {
        fn(item);
      } catch (err) {
        console.error(err);
      }
    });
  };

  Sim.api = function (path, opts) {
    opts = opts || {};
    var init = { method: opts.method || "GET", headers: {} };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      init.headers["Content-Type"] = "application/json";
    }
    if (opts.token) init.headers.Authorization = "Bearer " + opts.token;
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = { message: text };
        }
        if (!res.ok) {
          var err = new Error((data && data.message) || res.status + " " + res.statusText);
          err.status = res.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  };

  Sim.rest = function (path, opts, token) {
    opts = opts || {};
    opts.token = token || (Sim.state && Sim.state.admin_token);
    return Sim.api(path, opts);
  };

  Sim.send = function (body) {
    return Sim.api("/simulator/api/send", { method: "POST", body: body });
  };

  Sim.sleep = function (ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  };

  /* The first message (already received after `sinceSeq`, or arriving later) matching pred. */
  Sim.waitFor = function (pred, timeoutMs, sinceSeq) {
    return new Promise(function (resolve, reject) {
      var done = false;
      Object.keys(Sim.messages).forEach(function (id) {
        var msg = Sim.messages[id];
        if (!done && msg.seq > (sinceSeq || 0) && pred(msg)) {
          done = true;
          resolve(msg);
        }
      });
      if (done) return;
      var off = Sim.on("message", function (msg) {
        if (done || !pred(msg)) return;
        done = true;
        off();
        clearTimeout(timer);
        resolve(msg);
      });
      var timer = setTimeout(function () {
        done = true;
        off();
        reject(new Error("nothing arrived within " + Math.round(timeoutMs / 1000) + " s"));
      }, timeoutMs);
    });
  };

  Sim.lastSeq = function () {
    return lastSeq;
  };

  function apply(item) {
    if (item.seq && item.seq <= lastSeq) return; // already seen (reconnect overlap)
    if (item.seq) lastSeq = item.seq;
    if (item.type === "message") {
      Sim.messages[item.id] = item;
      Sim.emit("message", item);
    } else if (item.type === "status") {
      var msg = Sim.messages[item.id];
      if (msg) {
        msg.status = item.status;
        msg.error = item.error;
      }
      Sim.emit("status", item);
    } else if (item.type === "note") {
      Sim.emit("note", item);
    }
  }

  function setConnected(value) {
    Sim.connected = value;
    Sim.emit("connection", value);
  }

  Sim.connect = function () {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(proto + "//" + location.host + "/simulator/ws?after=" + lastSeq);
    socket.onopen = function () {
      retry = 0;
      setConnected(true);
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "hello") frame.items.forEach(apply);
      else apply(frame);
    };
    socket.onclose = function () {
      setConnected(false);
      retry = Math.min(retry + 1, 6);
      setTimeout(Sim.connect, 250 * Math.pow(2, retry));
    };
  };

  Sim.load = function () {
    return Sim.api("/simulator/api/state").then(function (state) {
      Sim.state = state;
      return state;
    });
  };

  /* Small DOM helper: h("div.cls", {attr}, [children or text]). */
  Sim.h = function (tag, attrs, children) {
    var parts = tag.split(".");
    var el = document.createElement(parts[0] || "div");
    if (parts.length > 1) el.className = parts.slice(1).join(" ");
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") el.textContent = value;
      else if (key.slice(0, 2) === "on") el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : value);
    });
    (function add(child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) child.forEach(add);
      else el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    })(children);
    return el;
  };

  Sim.time = function (iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  };

  Sim.prettyPhone = function (e164) {
    var m = /^\+90(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(e164 || "");
    if (m) return "+90 " + m[1] + " " + m[2] + " " + m[3] + " " + m[4];
    m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164 || "");
    if (m) return "+1 " + m[1] + "-" + m[2] + "-" + m[3];
    m = /^\+44(\d{4})(\d{6})$/.exec(e164 || "");
    if (m) return "+44 " + m[1] + " " + m[2];
    return e164 || "";
  };

  /* "+90 555 111 22 33" -> "+905551112233" (the server checks properly). */
  Sim.e164 = function (text) {
    var digits = String(text || "").replace(/[^\d+]/g, "");
    if (digits && digits[0] !== "+") digits = "+" + digits.replace(/^0+/, "90");
    return digits;
  };

  Sim.toast = function (text, kind) {
    var box = document.getElementById("toasts");
    var el = Sim.h("div.toast" + (kind ? "." + kind : ""), { role: "status", text: text });
    box.appendChild(el);
    setTimeout(function () {
      el.classList.add("gone");
      setTimeout(function () {
        el.remove();
      }, 400);
    }, 4200);
  };
})();
