/* Omnigate simulator — one message bubble on a phone: text, media, template, buttons, ticks.
 *
 * Sim.bubble(msg, phone) -> element. `msg` is a feed message: direction "in" is the
 * customer's own message (right side), "out" is what the gateway sent through the provider
 * (left side). Everything from the server is rendered as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var h = Sim.h;
  var RANK = { sending: 0, accepted: 0, queued: 0, sent: 1, received: 2, delivered: 2, read: 3 };
  var FAILED = { failed: 1, undelivered: 1, rejected: 1 };

  Sim.statusRank = function (status) {
    if (FAILED[status]) return 9;
    return RANK[status] === undefined ? 0 : RANK[status];
  };

  /* Ticks and a word: what the provider reported back to the gateway (theirs), or whether
     the gateway accepted the customer's webhook (mine). */
  function ticks(msg) {
    var s = msg.status || "";
    var mine = msg.direction === "in";
    var icon = "◷";
    var label = s || "…";
    var cls = "pending";
    if (FAILED[s]) {
      icon = "!";
      cls = "failed";
      label = mine ? "not delivered" : s;
    } else if (s === "read") {
      icon = "✓✓";
      cls = "read";
    } else if (s === "delivered" || s === "received") {
      icon = "✓✓";
      cls = "done";
      if (mine) label = "delivered";
    } else if (s === "sent") {
      icon = "✓";
      cls = "done";
    } else if (s === "accepted" || s === "queued") {
      label = "queued";
    } else if (s === "sending") {
      label = "sending";
    }
    var title = mine
      ? "The gateway's answer to the signed webhook" +
        (msg.error ? ": " + msg.error : s === "received" ? ": 200 OK" : "")
      : msg.channel === "telegram"
        ? "Telegram answered the Bot API call (bots get no delivery receipts)"
        : "Status callbacks the provider sent to the gateway: sent → delivered" +
          (msg.channel === "whatsapp" ? " → read" : "");
    return h("span.ticks." + cls, { title: title, "data-status": s }, [
      h("b", { text: icon }),
      mine ? null : h("i", { text: label }),
    ]);
  }

  Sim.ticks = ticks;

  var URL_RE = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g;

  /* Text with links; t.me / wa.me deep links open in the simulated app instead. */
  function richText(text, phone) {
    var frag = document.createDocumentFragment();
    var last = 0;
    String(text || "").replace(URL_RE, function (url, index) {
      frag.appendChild(document.createTextNode(text.slice(last, index)));
      frag.appendChild(link(url, phone));
      last = index + url.length;
      return url;
    });
    frag.appendChild(document.createTextNode(String(text || "").slice(last)));
    return frag;
  }

  function link(url, phone) {
    var a = h("a", { href: url, target: "_blank", rel: "noopener", text: url });
    var deep = Sim.deepLink(url);
    if (deep) {
      a.classList.add("deep");
      a.title = "Opens the simulated " + deep.channel + " app";
      a.addEventListener("click", function (event) {
        event.preventDefault();
        Sim.openDeepLink(deep, phone);
      });
    }
    return a;
  }

  Sim.richText = richText;

  function media(msg) {
    return (msg.media || []).map(function (item) {
      var url = item.url || "";
      var isImage = item.type === "image" || /\.(svg|png|jpe?g|gif|webp)(\?|$)/i.test(url);
      if (isImage && url) {
        return h("a.media", { href: url, target: "_blank", rel: "noopener" }, [
          h("img", { src: url, alt: "photo", loading: "lazy" }),
        ]);
      }
      return h("a.media.file", { href: url || "#", target: "_blank", rel: "noopener" }, [
        h("span.file-icon", { text: "FILE" }),
        h("span", { text: url ? url.split("/").pop() : item.type || "attachment" }),
      ]);
    });
  }

  function template(msg) {
    if (!msg.template) return null;
    var t = msg.template;
    var vars = Array.isArray(t.variables)
      ? t.variables
      : Object.keys(t.variables || {}).map(function (k) {
          return k + "=" + t.variables[k];
        });
    return h("div.template", {}, [
      h("span.template-tag", { text: "Template" }),
      h("b", { text: t.name + (t.language ? " · " + t.language : "") }),
      vars.length ? h("div.template-vars", { text: vars.join(" · ") }) : null,
    ]);
  }

  function extras(msg) {
    var out = [];
    var x = msg.extra || {};
    if (x.location) {
      out.push(
        h("div.location", {}, [
          h("span.pin", { text: "Location" }),
          h("span", { text: x.location.latitude + ", " + x.location.longitude }),
        ])
      );
    }
    return out;
  }

  function press(phone, msg, button) {
    phone.send({
      button: {
        payload: button.payload,
        title: button.title,
        kind: button.kind,
        reply_to: msg.provider_id,
      },
    });
  }

  function buttons(msg, phone) {
    var list = (msg.buttons || []).filter(function (b) {
      return b.kind !== "list";
    });
    if (!list.length) return null;
    if (msg.channel === "telegram") {
      var rows = {};
      list.forEach(function (b) {
        (rows[b.row || 0] = rows[b.row || 0] || []).push(b);
      });
      return h(
        "div.keyboard",
        { role: "group", "aria-label": "Inline keyboard" },
        Object.keys(rows).map(function (r) {
          return h(
            "div.kb-row",
            {},
            rows[r].map(function (b) {
              if (b.kind === "url") {
                return h("a.kb-btn", { href: b.payload, target: "_blank", text: b.title + " ↗" });
              }
              return h("button.kb-btn", {
                type: "button",
                text: b.title,
                title: "callback_query: " + b.payload,
                onclick: function () {
                  press(phone, msg, b);
                },
              });
            })
          );
        })
      );
    }
    return h(
      "div.reply-buttons",
      { role: "group", "aria-label": "Reply buttons" },
      list.map(function (b) {
        return h("button.reply-btn", {
          type: "button",
          text: "↩ " + b.title,
          title: "button reply: " + b.payload,
          onclick: function () {
            press(phone, msg, b);
          },
        });
      })
    );
  }

  function listButton(msg, phone) {
    var rows = (msg.buttons || []).filter(function (b) {
      return b.kind === "list";
    });
    if (!rows.length) return null;
    return h("button.list-open", {
      type: "button",
      onclick: function () {
        phone.openSheet(msg.list_label || "Options", rows, function (row) {
          press(phone, msg, row);
        });
      },
    }, [h("span", { text: "☰" }), " " + (msg.list_label || "Options")]);
  }

  Sim.bubble = function (msg, phone) {
    var mine = msg.direction === "in";
    var failed = FAILED[msg.status];
    var bubble = h("div.bubble", {}, [
      template(msg),
      media(msg),
      extras(msg),
      msg.text ? h("div.text", {}, [richText(msg.text, phone)]) : null,
      listButton(msg, phone),
      h("div.meta", {}, [
        msg.via === "twilio" && msg.channel === "whatsapp"
          ? h("span.via", { text: "via Twilio" })
          : null,
        h("span.time", { text: Sim.time(msg.at) }),
        ticks(msg),
      ]),
    ]);
    var el = h(
      "div.msg." + (mine ? "mine" : "theirs") + (failed ? ".failed" : ""),
      { "data-id": msg.id, "data-status": msg.status },
      [bubble, buttons(msg, phone)]
    );
    if (failed && msg.error) {
      el.appendChild(h("div.error-line", { text: (mine ? "Not delivered: " : "Failed: ") + msg.error }));
    }
    return el;
  };
})();
