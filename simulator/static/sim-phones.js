/* Omnigate simulator — the three phones (WhatsApp, SMS, Telegram) and the web chat device.
 *
 * A Phone shows the feed messages of its channel for its current customer identity (a phone
 * number, or a Telegram user), sends what is typed through POST /simulator/api/send, and has
 * simulation controls around it (identity picker above; STOP, the 24-hour window, contact
 * sharing below), styled apart from the phone itself.
 */
(function () {
  "use strict";

  var h = Sim.h;
  var notes = [];

  var SPEC = {
    whatsapp: {
      label: "WhatsApp",
      wire: "Meta Cloud API webhook, signed X-Hub-Signature-256",
      wireTwilio: "Twilio webhook (whatsapp:), signed X-Twilio-Signature",
      app: "Omnigate Demo Store",
      sub: "Business account",
      placeholder: "Message",
      attach: [
        ["photo", "Photo"],
        ["location", "Location"],
      ],
    },
    sms: {
      label: "SMS",
      wire: "Twilio webhook, signed X-Twilio-Signature",
      app: "",
      sub: "Text Message · SMS",
      placeholder: "Text Message",
      attach: [["photo", "Photo (MMS)"]],
    },
    telegram: {
      label: "Telegram",
      wire: "Telegram update with the webhook's secret-token header",
      app: "Omnigate Demo",
      sub: "bot",
      placeholder: "Message",
      attach: [
        ["photo", "Photo"],
        ["location", "Location"],
        ["contact", "My contact (phone number)"],
      ],
    },
  };

  function Phone(channel, state) {
    this.channel = channel;
    this.spec = SPEC[channel];
    this.state = state;
    this.via = "cloud";
    var first = state.personas[0];
    this.phone = first.phone;
    this.userId = String(first.telegram.id);
    this.el = this.build();
    var self = this;
    Sim.on("message", function (msg) {
      if (self.matches(msg)) self.append(msg);
    });
    Sim.on("status", function (item) {
      var msg = Sim.messages[item.id];
      if (msg && self.matches(msg)) self.replace(msg);
    });
    Sim.on("note", function (note) {
      if (note.channel === self.channel && note.peer === self.identity()) self.appendNote(note);
    });
  }

  Phone.prototype.identity = function () {
    return this.channel === "telegram" ? this.userId : this.phone;
  };

  Phone.prototype.matches = function (msg) {
    return msg.channel === this.channel && msg.peer === this.identity();
  };

  // ------------------------------------------------------------------ building

  Phone.prototype.build = function () {
    var self = this;
    var spec = this.spec;
    this.chat = h("div.chat", { role: "log", "aria-live": "polite", "aria-label": spec.label + " chat" });
    this.input = h("input.compose-input", {
      type: "text",
      placeholder: spec.placeholder,
      "aria-label": spec.label + " message",
      autocomplete: "off",
    });
    this.sheet = h("div.sheet", { hidden: true });
    this.attachMenu = h(
      "div.attach-menu",
      { hidden: true, role: "menu" },
      spec.attach.map(function (item) {
        return h("button", {
          type: "button",
          role: "menuitem",
          text: item[1],
          onclick: function () {
            self.attachMenu.hidden = true;
            self.attach(item[0]);
          },
        });
      })
    );
    var composer = h("form.composer", {
      onsubmit: function (event) {
        event.preventDefault();
        self.submit();
      },
    }, [
      h("button.attach", {
        type: "button",
        title: "Attach",
        "aria-label": "Attach",
        text: "+",
        onclick: function () {
          self.attachMenu.hidden = !self.attachMenu.hidden;
        },
      }),
      this.input,
      h("button.send", { type: "submit", "aria-label": "Send", title: "Send" }, [sendIcon()]),
    ]);
    var header = h("header.app-header", {}, [
      h("span.back", { text: "‹" }),
      h("span.avatar", { text: this.channel === "sms" ? "✉" : "O" }),
      h("div.who", {}, [
        h("b", { text: spec.app || Sim.prettyPhone(this.state.numbers.sms) }),
        h("small", {
          text:
            this.channel === "telegram" ? "bot · @" + this.state.telegram_bot.username : spec.sub,
        }),
      ]),
      this.channel === "whatsapp" ? h("span.verified", { title: "Verified business", text: "✔" }) : null,
    ]);
    this.wire = h("p.wire", { text: spec.wire });
    var screen = h("div.screen", {}, [
      h("div.statusbar", {}, [h("span", { text: "9:41" }), h("span", { text: "▂▄▆█  ◔ 100%" })]),
      header,
      this.chat,
      this.sheet,
      this.attachMenu,
      composer,
    ]);
    this.statusLine = h("div.identity-status", { "aria-live": "polite" });
    var root = h("section.device.device-" + this.channel, { "data-channel": this.channel }, [
      h("h2.device-label", {}, [h("span.dot"), spec.label]),
      this.identityStrip(),
      h("div.phone", {}, [screen]),
      this.controlsStrip(),
    ]);
    this.renderAll();
    return root;
  };

  function sendIcon() {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M3 20.5 21 12 3 3.5 3 10l12 2-12 2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  Phone.prototype.identityStrip = function () {
    var self = this;
    var strip = h("div.sim-strip.identity", {}, [h("span.strip-tag", { text: "Customer" })]);
    if (this.channel === "telegram") {
      var select = h(
        "select",
        {
          "aria-label": "Telegram user",
          onchange: function () {
            self.userId = select.value;
            self.renderAll();
          },
        },
        this.state.personas.map(function (p) {
          var t = p.telegram;
          return h("option", {
            value: String(t.id),
            text: t.first_name + " " + t.last_name + " (@" + t.username + ")",
          });
        })
      );
      strip.appendChild(select);
      return strip;
    }
    this.phoneInput = h("input.phone-input", {
      type: "tel",
      value: Sim.prettyPhone(this.phone),
      list: "persona-phones",
      "aria-label": this.spec.label + " customer number",
      onchange: function () {
        self.setPhone(Sim.e164(self.phoneInput.value), true);
      },
    });
    strip.appendChild(this.phoneInput);
    return strip;
  };

  Phone.prototype.setPhone = function (e164, fromUser) {
    if (!e164) return;
    this.phone = e164;
    if (this.phoneInput) this.phoneInput.value = Sim.prettyPhone(e164);
    this.renderAll();
    if (fromUser && Sim.sameNumber()) {
      var other = Sim.phones[this.channel === "sms" ? "whatsapp" : "sms"];
      if (other && other.phone !== e164) other.setPhone(e164, false);
    }
    Sim.emit("identity", this);
  };

  Phone.prototype.controlsStrip = function () {
    var self = this;
    var strip = h("div.sim-strip.controls", {}, [this.wire]);
    var row = h("div.control-row");
    if (this.channel === "whatsapp") {
      this.viaSelect = h(
        "select.via-select",
        {
          "aria-label": "WhatsApp provider",
          title: "Which provider carries this WhatsApp number to the gateway",
          onchange: function () {
            self.via = self.viaSelect.value;
            self.wire.textContent = self.via === "cloud" ? self.spec.wire : self.spec.wireTwilio;
          },
        },
        [
          h("option", { value: "cloud", text: "via Meta Cloud API" }),
          h("option", { value: "twilio", text: "via Twilio" }),
        ]
      );
      strip.appendChild(h("div.control-row", {}, [h("span.strip-tag", { text: "Provider" }), this.viaSelect]));
    }
    if (this.channel === "sms" || this.channel === "whatsapp") {
      row.appendChild(
        h("button.chip.stop", {
          type: "button",
          text: "Send STOP",
          title: "Opt out of this channel (STOP, IPTAL, DUR… work too)",
          onclick: function () {
            self.send({ text: "STOP" });
          },
        })
      );
      row.appendChild(
        h("button.chip", {
          type: "button",
          text: "Send START",
          title: "Opt back in",
          onclick: function () {
            self.send({ text: "START" });
          },
        })
      );
    }
    if (this.channel === "whatsapp") {
      row.appendChild(
        h("button.chip.clock", {
          type: "button",
          text: "Age 24 h window: −25 h",
          title:
            "Simulation control: moves this customer's last WhatsApp message 25 hours back in " +
            "the database and tells the simulated provider the window is closed",
          onclick: function () {
            self.ageWindow();
          },
        })
      );
    }
    if (this.channel === "telegram") {
      this.shareButton = h("button.chip", {
        type: "button",
        onclick: function () {
          self.attach("contact");
        },
      });
      row.appendChild(this.shareButton);
      row.appendChild(
        h("button.chip", {
          type: "button",
          text: "/start",
          onclick: function () {
            self.send({ text: "/start" });
          },
        })
      );
      this.updateShareLabel();
      Sim.on("identity", function () {
        self.updateShareLabel();
      });
    }
    strip.appendChild(row);
    if (this.channel !== "telegram") strip.appendChild(this.statusLine);
    return strip;
  };

  Phone.prototype.updateShareLabel = function () {
    var number = Sim.phones && Sim.phones.sms ? Sim.phones.sms.phone : this.state.personas[0].phone;
    this.shareButton.textContent = "Share my contact (" + Sim.prettyPhone(number) + ")";
    this.shareButton.title =
      "Sends this Telegram user's own contact with the SMS phone's number: the gateway links " +
      "the Telegram identity to that customer";
  };

  // ------------------------------------------------------------------ rendering

  Phone.prototype.renderAll = function () {
    var self = this;
    this.chat.textContent = "";
    this.chat.appendChild(h("div.day", { text: "Today" }));
    var items = Object.keys(Sim.messages)
      .map(function (id) {
        return Sim.messages[id];
      })
      .filter(function (m) {
        return self.matches(m);
      })
      .sort(function (a, b) {
        return a.seq - b.seq;
      });
    items.forEach(function (msg) {
      self.chat.appendChild(Sim.bubble(msg, self));
    });
    if (!items.length) this.chat.appendChild(this.emptyHint());
    this.scroll();
    if (this.channel !== "telegram") this.refreshIdentity();
  };

  Phone.prototype.emptyHint = function () {
    return h("div.empty-hint", {}, [
      h("b", { text: "No messages with this " + (this.channel === "telegram" ? "user" : "number") + " yet." }),
      h("span", { text: " Type below: it reaches the gateway as a real " + this.spec.wire + "." }),
    ]);
  };

  Phone.prototype.append = function (msg) {
    var hint = this.chat.querySelector(".empty-hint");
    if (hint) hint.remove();
    this.chat.appendChild(Sim.bubble(msg, this));
    this.scroll();
    this.refreshSoon();
  };

  Phone.prototype.replace = function (msg) {
    var old = this.chat.querySelector('[data-id="' + msg.id + '"]');
    if (old) old.replaceWith(Sim.bubble(msg, this));
    else this.append(msg);
  };

  Phone.prototype.appendNote = function (note) {
    notes.push(note);
    this.chat.appendChild(h("div.sys-note", { text: note.text }));
    this.scroll();
    this.refreshSoon();
  };

  Phone.prototype.scroll = function () {
    var chat = this.chat;
    requestAnimationFrame(function () {
      chat.scrollTop = chat.scrollHeight;
    });
  };

  Phone.prototype.openSheet = function (title, rows, onPick) {
    var self = this;
    var sheet = this.sheet;
    sheet.textContent = "";
    sheet.appendChild(h("div.sheet-title", {}, [
      h("button.sheet-close", { type: "button", text: "✕", "aria-label": "Close", onclick: function () {
        sheet.hidden = true;
      } }),
      h("b", { text: title }),
    ]));
    rows.forEach(function (row) {
      sheet.appendChild(
        h("button.sheet-row", {
          type: "button",
          onclick: function () {
            sheet.hidden = true;
            onPick(row);
          },
        }, [h("span", { text: row.title }), row.description ? h("small", { text: row.description }) : null])
      );
    });
    sheet.hidden = false;
    self.attachMenu.hidden = true;
  };

  // ------------------------------------------------------------------ sending

  Phone.prototype.send = function (partial) {
    var body = { channel: this.channel, from: this.identity() };
    if (this.channel === "whatsapp") body.via = this.via;
    Object.keys(partial).forEach(function (k) {
      body[k] = partial[k];
    });
    var self = this;
    return Sim.send(body).catch(function (err) {
      Sim.toast(self.spec.label + ": " + err.message, "error");
      throw err;
    });
  };

  Phone.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text) return Promise.resolve(null);
    this.input.value = "";
    return this.send({ text: text }).catch(function () {});
  };

  Phone.prototype.attach = function (kind) {
    var body = { attachment: kind };
    if (kind === "contact") body.contact_phone = Sim.phones.sms.phone;
    if (kind === "photo") body.text = this.input.value.trim();
    this.input.value = "";
    return this.send(body).catch(function () {});
  };

  /* For the guided tour: type visibly, then send. */
  Phone.prototype.typeAndSend = function (text) {
    var self = this;
    this.input.focus();
    this.input.value = "";
    var i = 0;
    return new Promise(function (resolve) {
      (function next() {
        if (i < text.length) {
          self.input.value += text[i++];
          setTimeout(next, 55);
        } else {
          setTimeout(resolve, 350);
        }
      })();
    }).then(function () {
      self.input.value = "";
      return self.send({ text: text });
    });
  };

  Phone.prototype.spotlight = function (on) {
    this.el.classList.toggle("spotlight", !!on);
  };

  Sim.Phone = Phone;
})();
