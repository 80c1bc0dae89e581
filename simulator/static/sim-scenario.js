/* Omnigate simulator — the guided tour: start on SMS, continue on WhatsApp, hand off to an agent.
 *
 * Plays real steps with visible pauses: the customer types on the SMS phone, continues on
 * WhatsApp with the same number, asks for a person; the demo agent claims the conversation and
 * replies (it reaches the WhatsApp phone); then the single customer profile and transcript are
 * read from the REST API. A number nobody used yet is picked, so every tour starts clean.
 */
(function () {
  "use strict";

  var h = Sim.h;
  var REPLY_WAIT = 20000;
  var PAUSE = 1400;

  var STEPS = [
    { key: "sms", title: "SMS", text: "The customer writes on SMS: “siparişim nerede” (where is my order)" },
    { key: "whatsapp", title: "WhatsApp", text: "…and continues on WhatsApp from the same number: “12345”" },
    { key: "handoff", title: "Hand-off", text: "…then asks for a person: “canlı destek”" },
    { key: "claim", title: "Agent claims", text: "The demo agent claims the waiting conversation" },
    { key: "reply", title: "Agent replies", text: "The agent replies; it reaches the customer on WhatsApp" },
    { key: "profile", title: "One customer", text: "One customer, one transcript across SMS and WhatsApp" },
  ];

  function Scenario(bar, ctx) {
    this.bar = bar;
    this.ctx = ctx; // {phones, agent, profile}
    this.running = false;
  }

  Scenario.prototype.render = function (index, caption, done) {
    var self = this;
    this.bar.hidden = false;
    this.bar.textContent = "";
    this.bar.appendChild(h("span.tour-tag", { text: done ? "Tour complete" : "Guided tour" }));
    this.bar.appendChild(
      h(
        "ol.tour-steps",
        {},
        STEPS.map(function (step, i) {
          var cls = i < index || done ? ".done" : i === index ? ".current" : "";
          return h("li" + cls, { "data-step": step.key }, [h("i", { text: String(i + 1) }), step.title]);
        })
      )
    );
    this.caption = h("p.tour-caption", { "aria-live": "polite", text: caption });
    this.bar.appendChild(
      h("button.chip.tour-close", {
        type: "button",
        text: this.running ? "Stop" : "Close",
        onclick: function () {
          if (self.running) self.stopped = true;
          else self.bar.hidden = true;
        },
      })
    );
    this.bar.appendChild(this.caption);
  };

  Scenario.prototype.check = function () {
    if (this.stopped) throw new Error("stopped");
  };

  Scenario.prototype.pause = function (ms) {
    var self = this;
    return Sim.sleep(ms || PAUSE).then(function () {
      self.check();
    });
  };

  /* A number with no customer yet: the default one first, then +90 555 111 22 34, 35… */
  function freshNumber(base) {
    var digits = base.replace(/\D/g, "");
    var start = parseInt(digits.slice(-2), 10);
    function attempt(n) {
      var candidate = "+" + digits.slice(0, -2) + String((start + n) % 100).padStart(2, "0");
      return Sim.rest("/api/v1/customers?identity=sms:" + encodeURIComponent(candidate))
        .then(function () {
          return n < 60 ? attempt(n + 1) : candidate;
        })
        .catch(function (err) {
          if (err.status === 404) return candidate;
          throw err;
        });
    }
    return attempt(0);
  }

  Scenario.prototype.say = function (phone, text) {
    var since = Sim.lastSeq();
    var peer = phone.identity();
    var channel = phone.channel;
    return phone.typeAndSend(text).then(function () {
      return Sim.waitFor(
        function (msg) {
          return msg.channel === channel && msg.direction === "out" && msg.peer === peer;
        },
        REPLY_WAIT,
        since
      );
    });
  };

  Scenario.prototype.step = function (index, caption, phone) {
    Object.keys(this.ctx.phones).forEach(function (key) {
      this.ctx.phones[key].spotlight(this.ctx.phones[key] === phone);
    }, this);
    this.render(index, "Step " + (index + 1) + " of " + STEPS.length + " · " + (caption || STEPS[index].text));
  };

  Scenario.prototype.run = function () {
    if (this.running) return Promise.resolve();
    var self = this;
    var phones = this.ctx.phones;
    var agent = this.ctx.agent;
    var number;
    var customerId;
    var agentText = "Merhaba, ben Deniz. 12345 numaralı siparişiniz kargoda, yarın elinizde olacak. Başka bir konuda yardımcı olabilir miyim?";
    this.running = true;
    this.stopped = false;
    this.render(0, "Picking a customer number nobody used yet…");
    return freshNumber(this.ctx.defaultPhone)
      .then(function (fresh) {
        number = fresh;
        phones.sms.setPhone(number, false);
        phones.whatsapp.setPhone(number, false);
        phones.whatsapp.via = "cloud";
        if (phones.whatsapp.viaSelect) phones.whatsapp.viaSelect.value = "cloud";
        document.getElementById("devices").scrollIntoView({ behavior: "smooth", block: "start" });
        self.step(0, null, phones.sms);
        return self.pause();
      })
      .then(function () {
        return self.say(phones.sms, "siparişim nerede");
      })
      .then(function () {
        return self.pause();
      })
      .then(function () {
        self.step(1, null, phones.whatsapp);
        return self.pause(800);
      })
      .then(function () {
        return self.say(phones.whatsapp, "12345");
      })
      .then(function () {
        return self.pause();
      })
      .then(function () {
        self.step(2, null, phones.whatsapp);
        return self.say(phones.whatsapp, "canlı destek");
      })
      .then(function () {
        return self.pause();
      })
      .then(function () {
        return Sim.rest("/api/v1/customers?identity=sms:" + encodeURIComponent(number));
      })
      .then(function (customer) {
        customerId = customer.id;
        if (!agent) {
          self.step(3, "No hand-off API in this build: the agent steps are skipped", null);
          return self.pause(2500);
        }
        self.step(3, null, null);
        agent.root.scrollIntoView({ behavior: "smooth", block: "center" });
        return agent
          .selectCustomer(customerId)
          .then(function () {
            return self.pause();
          })
          .then(function () {
            return agent.act("claim");
          })
          .then(function () {
            return self.pause();
          })
          .then(function () {
            self.step(4, null, phones.whatsapp);
            agent.reply.value = agentText;
            return self.pause(900);
          })
          .then(function () {
            var since = Sim.lastSeq();
            return agent.sendReply().then(function () {
              document.getElementById("devices").scrollIntoView({ behavior: "smooth", block: "start" });
              return Sim.waitFor(
                function (msg) {
                  return msg.channel === "whatsapp" && msg.direction === "out" && msg.text === agentText;
                },
                REPLY_WAIT,
                since
              );
            });
          })
          .then(function () {
            return self.pause(2200);
          });
      })
      .then(function () {
        self.step(5, null, null);
        return self.ctx.profile.show("sms:" + number);
      })
      .then(function () {
        var pane = self.ctx.profile.root;
        pane.classList.add("spotlight-panel");
        pane.scrollIntoView({ behavior: "smooth", block: "center" });
        setTimeout(function () {
          pane.classList.remove("spotlight-panel");
        }, 6000);
        self.running = false;
        self.step(5, null, null);
        self.render(
          STEPS.length,
          "Done: customer #" + customerId + " wrote on SMS and WhatsApp — one profile, one transcript, and the agent's reply reached WhatsApp.",
          true
        );
      })
      .catch(function (err) {
        self.running = false;
        Object.keys(phones).forEach(function (key) {
          phones[key].spotlight(false);
        });
        if (err.message === "stopped") {
          self.bar.hidden = true;
          return;
        }
        self.render(0, "The tour stopped: " + err.message);
      });
  };

  Sim.Scenario = Scenario;
})();
