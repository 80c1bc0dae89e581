/* Omnigate simulator — what the gateway recorded about a phone's customer, under the phone:
 * the customer id, an opt-out (STOP), and WhatsApp's 24-hour window with its age control.
 * Read from the REST API (GET /api/v1/customers?identity=…) with the simulation's admin token.
 */
(function () {
  "use strict";

  var h = Sim.h;

  Sim.Phone.prototype.refreshSoon = function () {
    var self = this;
    if (this.channel === "telegram") return;
    clearTimeout(this._refresh);
    this._refresh = setTimeout(function () {
      self.refreshIdentity();
    }, 500);
  };

  Sim.Phone.prototype.refreshIdentity = function () {
    var self = this;
    var channel = this.channel;
    var phone = this.phone;
    return Sim.rest("/api/v1/customers?identity=" + channel + ":" + encodeURIComponent(phone))
      .then(function (customer) {
        if (self.phone !== phone) return;
        var identity = (customer.identities || []).filter(function (i) {
          return i.channel === channel;
        })[0];
        self.showIdentity(customer, identity);
      })
      .catch(function (err) {
        if (self.phone === phone) self.showIdentity(null, null, err.status === 404 ? "" : err.message);
      });
  };

  Sim.Phone.prototype.showIdentity = function (customer, identity, problem) {
    var line = this.statusLine;
    line.textContent = "";
    if (problem) {
      line.appendChild(h("span.badge.warn", { text: problem }));
      return;
    }
    if (!customer || !identity) {
      line.appendChild(h("span.badge", { text: "New customer: nothing recorded for this number yet" }));
      return;
    }
    line.appendChild(h("span.badge.customer", { text: "Customer #" + customer.id }));
    if (identity.opted_out_at) {
      line.appendChild(h("span.badge.stop", { text: "Opted out (STOP) — START to rejoin" }));
    }
    if (this.channel === "whatsapp") line.appendChild(windowBadge(identity.last_inbound_at));
  };

  function windowBadge(lastInbound) {
    if (!lastInbound) return h("span.badge", { text: "24 h window: not opened yet" });
    var closes = new Date(lastInbound).getTime() + 24 * 3600 * 1000;
    var left = closes - Date.now();
    if (left <= 0) {
      var ago = Math.round((Date.now() - new Date(lastInbound).getTime()) / 3600000);
      return h("span.badge.closed", {
        text: "24 h window closed · last message " + ago + " h ago",
        title: "Free text is not sent now: the gateway holds it, moves it to another channel or sends a template",
      });
    }
    var hours = Math.floor(left / 3600000);
    var minutes = Math.floor((left % 3600000) / 60000);
    return h("span.badge.open", { text: "24 h window open · " + hours + " h " + minutes + " min left" });
  }

  Sim.Phone.prototype.ageWindow = function () {
    var self = this;
    return Sim.api("/simulator/api/whatsapp-window", {
      method: "POST",
      body: { phone: this.phone, hours: 25 },
    })
      .then(function () {
        self.refreshIdentity();
      })
      .catch(function (err) {
        Sim.toast(err.message, "error");
      });
  };
})();
