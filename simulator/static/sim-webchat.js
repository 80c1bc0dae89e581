/* Omnigate simulator — the web chat device: the real widget (/webchat/widget.js) in a
 * browser frame, with a "New visitor" control that forgets the widget's session.
 */
(function () {
  "use strict";

  var h = Sim.h;


  function webchatDevice() {
    var frame = h("iframe.webchat-frame", {
      src: "/simulator/static/webchat.html",
      title: "Web chat widget",
    });
    return h("section.device.device-webchat", { "data-channel": "webchat" }, [
      h("h2.device-label", {}, [h("span.dot"), "Web chat"]),
      h("div.sim-strip.identity", {}, [
        h("span.strip-tag", { text: "Visitor" }),
        h("span.visitor", { text: "Anonymous browser session" }),
        h("button.chip", {
          type: "button",
          text: "New visitor",
          title: "Forget the widget's session and start as someone new",
          onclick: function () {
            [localStorage, sessionStorage].forEach(function (store) {
              Object.keys(store).forEach(function (key) {
                if (key.indexOf("omnigate:") === 0) store.removeItem(key);
              });
            });
            frame.src = frame.src;
          },
        }),
      ]),
      h("div.browser", {}, [
        h("div.browser-bar", {}, [
          h("i"), h("i"), h("i"),
          h("span.url", { text: "shop.example / destek" }),
        ]),
        frame,
      ]),
      h("div.sim-strip.controls", {}, [
        h("p.wire", { text: "The real widget (/webchat/widget.js) over its WebSocket" }),
        h("p.hint", {
          text: "Type a phone number here to link it: the code arrives on the SMS phone.",
        }),
      ]),
    ]);
  }

  Sim.webchatDevice = webchatDevice;
})();
