/* Omnigate simulator — the agent pane: the demo agent works the hand-off queue.
 *
 * It uses the gateway's hand-off REST API with the demo agent's own token (made at start):
 * GET /api/v1/conversations, GET .../{id}, GET .../{id}/messages, POST .../{id}/claim,
 * .../release, .../close and .../messages. The full agent console (/console) does the same
 * with more comfort; the pane links to it when it is installed.
 */
(function () {
  "use strict";

  var h = Sim.h;
  var POLL_MS = 1500;
  var STATE_LABEL = { bot: "bot", queued: "waiting", agent: "with agent", closed: "closed" };

  function AgentPane(root, state) {
    this.root = root;
    this.state = state;
    this.agent = state.agent;
    this.selected = null;
    this.conversations = [];
    this.build();
    if (this.agent) this.poll();
  }

  AgentPane.prototype.token = function () {
    return this.agent && this.agent.token;
  };

  AgentPane.prototype.build = function () {
    var self = this;
    var root = this.root;
    root.textContent = "";
    var consoleInfo = this.state.console;
    var consoleLink = consoleInfo.available
      ? h("a.button.ghost", {
          href: consoleInfo.url + (this.agent ? "#token=" + encodeURIComponent(this.agent.token) : ""),
          target: "_blank",
          rel: "noopener",
          text: "Open agent console ↗",
        })
      : h("span.muted.console-missing", {
          title: "The full agent console is not part of this build yet; this pane uses the same API",
          text: "Agent console (" + consoleInfo.url + ") not installed in this build",
        });
    root.appendChild(
      h("header.panel-head", {}, [
        h("div", {}, [
          h("h2", { text: "Agent" }),
          h("p.muted", {
            text: this.agent
              ? "You are " + this.agent.name + ". Claim a waiting conversation and reply: the customer's phone receives it."
              : "The hand-off API is not available in this build: no demo agent.",
          }),
        ]),
        consoleLink,
      ])
    );
    if (!this.agent) return;
    this.tokenBox = h("div.token-row", {}, [
      h("span.strip-tag", { text: "Agent token" }),
      h("code.token", { text: this.agent.token.slice(0, 10) + "…" }),
      h("button.chip", {
        type: "button",
        text: "Copy",
        onclick: function () {
          copy(self.agent.token, "Agent token copied");
        },
      }),
    ]);
    root.appendChild(this.tokenBox);
    this.list = h("ul.conv-list", { "aria-label": "Conversations" });
    this.thread = h("div.thread", { role: "log", "aria-label": "Conversation thread" });
    this.title = h("div.thread-title");
    this.actions = h("div.thread-actions");
    this.reply = h("textarea.agent-input", {
      rows: 2,
      placeholder: "Reply as " + this.agent.name + "…",
      "aria-label": "Agent reply",
      onkeydown: function (event) {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          self.sendReply();
        }
      },
    });
    var form = h("form.agent-compose", {
      onsubmit: function (event) {
        event.preventDefault();
        self.sendReply();
      },
    }, [this.reply, h("button.button.primary", { type: "submit", text: "Send" })]);
    root.appendChild(
      h("div.agent-body", {}, [
        this.list,
        h("div.agent-thread", {}, [h("div.thread-head", {}, [this.title, this.actions]), this.thread, form]),
      ])
    );
    this.renderThread(null, []);
  };

  function copy(text, done) {
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () {
        Sim.toast(done);
      });
    } else {
      window.prompt("Copy:", text);
    }
  }

  AgentPane.prototype.poll = function () {
    var self = this;
    this.refresh().finally(function () {
      setTimeout(function () {
        self.poll();
      }, POLL_MS);
    });
  };

  AgentPane.prototype.refresh = function () {
    var self = this;
    return Sim.rest("/api/v1/conversations?limit=40", {}, this.token())
      .then(function (body) {
        self.conversations = body.conversations.filter(function (c) {
          return c.state !== "closed" || (self.selected && c.id === self.selected);
        });
        var waiting = self.conversations.filter(function (c) {
          return c.state === "queued";
        });
        if (!self.selected && waiting.length) self.selected = waiting[0].id;
        self.renderList();
        return self.selected ? self.loadThread(self.selected) : null;
      })
      .catch(function (err) {
        self.list.textContent = "";
        self.list.appendChild(h("li.muted", { text: "Could not read conversations: " + err.message }));
      });
  };

  var ORDER = { queued: 0, agent: 1, bot: 2, closed: 3 };

  AgentPane.prototype.renderList = function () {
    var self = this;
    this.list.textContent = "";
    var items = this.conversations.slice().sort(function (a, b) {
      return ORDER[a.state] - ORDER[b.state] || (b.updated_at > a.updated_at ? 1 : -1);
    });
    if (!items.length) {
      this.list.appendChild(h("li.muted.empty", { text: "No conversations yet. Write from a phone." }));
    }
    items.forEach(function (c) {
      var last = c.last_message;
      var name = (c.customer && c.customer.display_name) || "Customer #" + c.customer_id;
      self.list.appendChild(
        h("li", {}, [
          h("button.conv" + (c.id === self.selected ? ".active" : ""), {
            type: "button",
            "data-state": c.state,
            "data-conversation": String(c.id),
            onclick: function () {
              self.selected = c.id;
              self.renderList();
              self.loadThread(c.id);
            },
          }, [
            h("span.conv-top", {}, [
              h("b", { text: name }),
              h("span.state.state-" + c.state, { text: STATE_LABEL[c.state] || c.state }),
            ]),
            h("span.conv-last", {}, [
              last ? h("span.ch.ch-" + last.channel, { text: last.channel }) : null,
              h("span", { text: last ? last.text : "…" }),
            ]),
          ]),
        ])
      );
    });
  };

  AgentPane.prototype.loadThread = function (id) {
    var self = this;
    var token = this.token();
    return Promise.all([
      Sim.rest("/api/v1/conversations/" + id, {}, token),
      Sim.rest("/api/v1/conversations/" + id + "/messages", {}, token),
    ]).then(function (res) {
      if (self.selected === id) self.renderThread(res[0], res[1].messages);
    });
  };

  AgentPane.prototype.renderThread = function (conv, messages) {
    var self = this;
    this.current = conv;
    this.title.textContent = "";
    this.actions.textContent = "";
    if (!conv) {
      this.title.appendChild(h("span.muted", { text: "Pick a conversation" }));
      this.thread.textContent = "";
      return;
    }
    var customer = conv.customer || {};
    this.title.appendChild(h("b", { text: customer.display_name || "Customer #" + conv.customer_id }));
    this.title.appendChild(h("span.state.state-" + conv.state, { text: STATE_LABEL[conv.state] || conv.state }));
    (customer.identities || []).forEach(function (i) {
      self.title.appendChild(h("span.ch.ch-" + i.channel, { text: i.channel }));
    });
    var mine = conv.assignee && conv.assignee.id === this.agent.id;
    if (conv.state === "queued" || conv.state === "bot") this.actions.appendChild(this.action("Claim", "claim"));
    if (conv.state === "agent" && mine) {
      this.actions.appendChild(this.action("Back to bot", "release"));
      this.actions.appendChild(this.action("Close", "close", { csat: true }));
    }
    var key = messages.map(function (m) {
      return m.id + ":" + m.delivery_status;
    }).join(",");
    if (key === this._key) return;
    this._key = key;
    this.thread.textContent = "";
    messages.forEach(function (m) {
      self.thread.appendChild(threadItem(m));
    });
    this.thread.scrollTop = this.thread.scrollHeight;
  };

  function threadItem(m) {
    if (m.sender === "system") {
      return h("div.t-system", { text: m.text || m.event || "" });
    }
    var who = m.sender === "agent" ? m.agent_name || "Agent" : m.sender === "bot" ? "Bot" : "Customer";
    return h("div.t-msg.t-" + m.sender + (m.note ? ".t-note" : ""), {}, [
      h("div.t-meta", {}, [
        h("b", { text: who }),
        h("span.ch.ch-" + m.channel, { text: m.channel }),
        h("span.muted", { text: Sim.time(m.created_at) }),
        m.delivery_status ? h("span.t-status", { text: m.delivery_status }) : null,
        m.note ? h("span.t-status", { text: "internal note" }) : null,
      ]),
      h("div.t-text", { text: m.text || (m.media && m.media.length ? "[media]" : "[" + m.kind + "]") }),
    ]);
  }

  AgentPane.prototype.action = function (label, verb, body) {
    var self = this;
    return h("button.button.small" + (verb === "claim" ? ".primary" : ""), {
      type: "button",
      text: label,
      "data-action": verb,
      onclick: function () {
        self.act(verb, body);
      },
    });
  };

  AgentPane.prototype.act = function (verb, body) {
    var self = this;
    if (!this.current) return Promise.resolve(null);
    var path = "/api/v1/conversations/" + this.current.id + "/" + verb;
    return Sim.rest(path, { method: "POST", body: body || {} }, this.token())
      .then(function (result) {
        self._key = null;
        return self.refresh().then(function () {
          return result;
        });
      })
      .catch(function (err) {
        Sim.toast(err.message, "error");
        throw err;
      });
  };

  AgentPane.prototype.sendReply = function (text) {
    var self = this;
    text = text || this.reply.value.trim();
    if (!text || !this.current) return Promise.resolve(null);
    this.reply.value = "";
    var path = "/api/v1/conversations/" + this.current.id + "/messages";
    return Sim.rest(path, { method: "POST", body: { text: text } }, this.token())
      .then(function (row) {
        self._key = null;
        self.refresh();
        return row;
      })
      .catch(function (err) {
        Sim.toast(err.message, "error");
        throw err;
      });
  };

  /* For the guided tour: select a customer's open conversation. */
  AgentPane.prototype.selectCustomer = function (customerId) {
    var self = this;
    return Sim.rest("/api/v1/conversations?customer_id=" + customerId, {}, this.token()).then(function (body) {
      var open = body.conversations.filter(function (c) {
        return c.state !== "closed";
      })[0];
      if (!open) throw new Error("customer #" + customerId + " has no open conversation");
      self.selected = open.id;
      self._key = null;
      return self.refresh().then(function () {
        return open;
      });
    });
  };

  Sim.AgentPane = AgentPane;
})();
