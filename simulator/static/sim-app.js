/* Omnigate simulator — boot: read the state, build the devices and panes, open the feed. */
(function () {
  "use strict";

  var h = Sim.h;

  Sim.sameNumber = function () {
    var box = document.getElementById("same-number");
    return !box || box.checked;
  };

  Sim.normalizeIdentity = function (channel, value) {
    return channel === "telegram" ? String(value).replace(/\D/g, "") : Sim.e164(value);
  };

  /* t.me/<bot>?start=CODE and wa.me/<number>?text=CODE links open in the simulated apps. */
  Sim.deepLink = function (url) {
    var u;
    try {
      u = new URL(url);
    } catch (e) {
      return null;
    }
    if (u.hostname === "t.me" && u.searchParams.get("start")) {
      return { channel: "telegram", text: "/start " + u.searchParams.get("start") };
    }
    if (u.hostname === "wa.me") return { channel: "whatsapp", text: u.searchParams.get("text") || "" };
    return null;
  };

  Sim.openDeepLink = function (deep) {
    var target = Sim.phones[deep.channel];
    if (!target || !deep.text) return;
    target.spotlight(true);
    setTimeout(function () {
      target.spotlight(false);
    }, 2500);
    Sim.toast("Link opened in the simulated " + target.spec.label + " app");
    target.send({ text: deep.text }).catch(function () {});
  };

  function personaList(state) {
    return h(
      "datalist",
      { id: "persona-phones" },
      state.personas.map(function (p) {
        return h("option", { value: Sim.prettyPhone(p.phone), label: p.name });
      })
    );
  }

  function connection() {
    var el = document.getElementById("conn");
    Sim.on("connection", function (up) {
      el.textContent = up ? "● live" : "● reconnecting…";
      el.classList.toggle("down", !up);
    });
  }

  function boot(state) {
    document.body.appendChild(personaList(state));
    connection();
    var devices = document.getElementById("devices");
    Sim.phones = {};
    ["sms", "whatsapp", "telegram"].forEach(function (channel) {
      Sim.phones[channel] = new Sim.Phone(channel, state);
    });
    devices.textContent = "";
    devices.appendChild(Sim.phones.sms.el);
    devices.appendChild(Sim.phones.whatsapp.el);
    devices.appendChild(Sim.phones.telegram.el);
    devices.appendChild(Sim.webchatDevice());
    Sim.phones.telegram.updateShareLabel();

    var pane = new Sim.AgentPane(document.getElementById("agent"), state);
    var agent = state.agent ? pane : null;
    var profile = new Sim.ProfilePane(document.getElementById("profile"));
    profile.show("sms:" + state.personas[0].phone);
    Sim.on("identity", function (phone) {
      if (phone.channel === "sms") profile.show("sms:" + phone.phone);
    });

    var tour = new Sim.Scenario(document.getElementById("tour"), {
      phones: Sim.phones,
      agent: agent,
      profile: profile,
      defaultPhone: state.personas[0].phone,
    });
    document.getElementById("tour-button").addEventListener("click", function () {
      tour.run();
    });
    document.getElementById("gateway-url").textContent = state.gateway_url;
    document.getElementById("copy-admin").addEventListener("click", function () {
      if (navigator.clipboard) navigator.clipboard.writeText(state.admin_token);
      Sim.toast("Admin API token copied");
    });
    setInterval(function () {
      Sim.phones.sms.refreshIdentity();
      Sim.phones.whatsapp.refreshIdentity();
    }, 30000);
    Sim.tour = tour;
    Sim.agent = agent;
    Sim.profile = profile;
    Sim.connect();
    document.body.classList.add("ready");
  }

  Sim.load()
    .then(boot)
    .catch(function (err) {
      document.getElementById("devices").textContent = "The simulator could not start: " + err.message;
    });
})();
