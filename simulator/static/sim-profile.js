/* Omnigate simulator — one customer's profile and cross-channel transcript, from the REST API.
 *
 * GET /api/v1/customers?identity=<channel>:<id> then GET /api/v1/customers/{id}/messages,
 * with the admin token simulate mode generated. It follows the phones: shown for the SMS
 * phone's number at first, refreshed as messages arrive.
 */
(function () {
  "use strict";

  var h = Sim.h;
  var LINKED = {
    first_contact: "first contact",
    same_phone: "same phone number",
    shared_contact: "shared own contact",
    link_code: "deep-link code",
    otp: "verified by SMS code",
    signed: "signed by the site",
  };

  function ProfilePane(root) {
    this.root = root;
    this.identity = "";
    this.customerId = null;
    this.build();
    var self = this;
    Sim.on("message", function () {
      self.refreshSoon();
    });
  }

  ProfilePane.prototype.build = function () {
    var self = this;
    this.channel = h(
      "select",
      { "aria-label": "Identity channel" },
      ["sms", "whatsapp", "telegram"].map(function (c) {
        return h("option", { value: c, text: c });
      })
    );
    this.value = h("input", { type: "text", "aria-label": "Identity", placeholder: "+905551112233" });
    this.root.appendChild(
      h("header.panel-head", {}, [
        h("div", {}, [
          h("h2", { text: "Customer profile & transcript" }),
          h("p.muted", { text: "One customer, one thread, whatever the channel — read from the REST API." }),
        ]),
      ])
    );
    this.root.appendChild(
      h("form.lookup", {
        onsubmit: function (event) {
          event.preventDefault();
          self.show(self.channel.value + ":" + Sim.normalizeIdentity(self.channel.value, self.value.value));
        },
      }, [
        h("span.strip-tag", { text: "Identity" }),
        this.channel,
        this.value,
        h("button.button.small", { type: "submit", text: "Show" }),
      ])
    );
    this.card = h("div.profile-card");
    this.transcript = h("ol.transcript", { "aria-label": "Transcript" });
    this.root.appendChild(this.card);
    this.root.appendChild(this.transcript);
  };

  ProfilePane.prototype.show = function (identity) {
    var parts = identity.split(":");
    this.identity = identity;
    this.channel.value = parts[0];
    this.value.value = parts.slice(1).join(":");
    this._key = null;
    this._fromTop = true; // a customer just picked: read the transcript from its start
    return this.refresh();
  };

  ProfilePane.prototype.refreshSoon = function () {
    var self = this;
    clearTimeout(this._timer);
    this._timer = setTimeout(function () {
      self.refresh();
    }, 700);
  };

  ProfilePane.prototype.refresh = function () {
    var self = this;
    if (!this.identity) return Promise.resolve(null);
    var identity = this.identity;
    var parts = identity.split(":");
    var query = parts[0] + ":" + encodeURIComponent(parts.slice(1).join(":"));
    return Sim.rest("/api/v1/customers?identity=" + query)
      .then(function (customer) {
        return Sim.rest("/api/v1/customers/" + customer.id + "/messages").then(function (body) {
          if (self.identity === identity) self.render(customer, body.messages);
          return { customer: customer, messages: body.messages };
        });
      })
      .catch(function (err) {
        if (self.identity !== identity) return null;
        self._key = null;
        self.card.textContent = "";
        self.transcript.textContent = "";
        self.card.appendChild(
          h("p.muted", { text: err.status === 404 ? "No customer has " + identity + " yet." : err.message })
        );
        return null;
      });
  };

  ProfilePane.prototype.render = function (customer, messages) {
    var key = JSON.stringify(customer) + messages.map(function (m) {
      return m.id + m.delivery_status;
    }).join();
    if (key === this._key) return;
    this._key = key;
    this.customerId = customer.id;
    this.card.textContent = "";
    this.card.appendChild(
      h("div.profile-top", {}, [
        h("span.big-avatar", { text: (customer.display_name || "#").slice(0, 1) }),
        h("div", {}, [
          h("b.profile-name", { text: customer.display_name || "Customer #" + customer.id }),
          h("div.muted", {
            text:
              "Customer #" + customer.id +
              (customer.phone ? " · " + Sim.prettyPhone(customer.phone) + (customer.phone_verified ? " ✓ verified" : "") : ""),
          }),
        ]),
      ])
    );
    this.card.appendChild(
      h(
        "ul.identities",
        { "aria-label": "Identities" },
        customer.identities.map(function (i) {
          return h("li", {}, [
            h("span.ch.ch-" + i.channel, { text: i.channel }),
            h("span", { text: i.channel === "webchat" ? "web session" : i.external_id }),
            h("small.muted", { text: "linked by " + (LINKED[i.linked_by] || i.linked_by) }),
            i.opted_out_at ? h("small.badge.stop", { text: "opted out" }) : null,
          ]);
        })
      )
    );
    this.transcript.textContent = "";
    var channels = {};
    messages.forEach(function (m) {
      channels[m.channel] = true;
      var who = m.sender === "customer" ? "Customer" : m.sender === "bot" ? "Bot" : m.sender === "agent" ? "Agent" : "System";
      this.transcript.appendChild(
        h("li.tr.tr-" + m.sender, { "data-channel": m.channel }, [
          h("span.muted.tr-time", { text: Sim.time(m.created_at) }),
          h("span.ch.ch-" + m.channel, { text: m.channel }),
          h("b.tr-who", { text: who }),
          h("span.tr-text", { text: m.text || "[" + m.kind + "]" }),
          m.delivery_status ? h("span.t-status", { text: m.delivery_status }) : null,
        ])
      );
    }, this);
    this.card.appendChild(
      h("p.summary", {
        text:
          messages.length + " messages across " + Object.keys(channels).length + " channel" +
          (Object.keys(channels).length === 1 ? "" : "s") + " in one transcript",
      })
    );
    this.transcript.scrollTop = this._fromTop ? 0 : this.transcript.scrollHeight;
    this._fromTop = false;
  };

  Sim.ProfilePane = ProfilePane;
})();
