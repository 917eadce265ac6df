// The Web Push page (/push/{token}): registers the service worker, asks for permission,
// subscribes with the server's VAPID key and sends the subscription to the server.
(function () {
  "use strict";

  var panel = document.getElementById("push-panel");
  if (!panel) return;
  var status = document.getElementById("push-status");
  var enable = document.getElementById("push-enable");
  var disable = document.getElementById("push-disable");

  function show(state) {
    var key = "text" + state.charAt(0).toUpperCase() + state.slice(1);
    status.textContent = panel.dataset[key] || "";
    status.dataset.state = state;
    enable.hidden = state === "on";
    disable.hidden = state !== "on";
    enable.disabled = state === "busy" || state === "unsupported";
    disable.disabled = state === "busy";
  }

  // applicationServerKey wants the raw bytes of the base64url public key.
  function keyBytes(text) {
    var base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  // The browser registers with its vendor's push service over the network, which may hang:
  // the person is told after a while instead of waiting for ever.
  var SUBSCRIBE_TIMEOUT_MS = 45000;

  function withTimeout(promise) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error("TimeoutError: the push service did not answer"));
      }, SUBSCRIBE_TIMEOUT_MS);
      promise.then(
        function (value) {
          clearTimeout(timer);
          resolve(value);
        },
        function (error) {
          clearTimeout(timer);
          reject(error);
        }
      );
    });
  }

  function send(method, body) {
    return fetch(panel.dataset.subscriptions, {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    }).then(function (response) {
      if (!response.ok) throw new Error("server answered " + response.status);
      return response;
    });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    show("unsupported");
    return;
  }

  var registration = navigator.serviceWorker
    .register(panel.dataset.worker, { scope: panel.dataset.scope })
    .then(function (reg) {
      panel.dataset.workerState = "registered";
      return reg;
    });

  // A subscription the browser already has is sent again: the push service may have renewed
  // it, or an earlier attempt finished only after the page gave up waiting.
  registration
    .then(function (reg) {
      return reg.pushManager.getSubscription();
    })
    .then(function (subscription) {
      if (!subscription || Notification.permission !== "granted") {
        show("off");
        return null;
      }
      return send("POST", subscription.toJSON()).then(function () {
        show("on");
      });
    })
    .catch(function () {
      panel.dataset.workerState = "failed";
      show("unsupported");
    });

  enable.addEventListener("click", function () {
    show("busy");
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          show("blocked");
          return null;
        }
        return registration.then(function (reg) {
          return withTimeout(
            reg.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: keyBytes(panel.dataset.vapidKey),
            })
          );
        }).then(function (subscription) {
          return send("POST", subscription.toJSON()).then(function () {
            show("on");
          });
        });
      })
      .catch(function (error) {
        panel.dataset.error = String(error && error.name ? error.name + ": " + error.message : error);
        show("failed");
      });
  });

  disable.addEventListener("click", function () {
    show("busy");
    registration
      .then(function (reg) {
        return reg.pushManager.getSubscription();
      })
      .then(function (subscription) {
        if (!subscription) return null;
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () {
          return send("DELETE", { endpoint: endpoint });
        });
      })
      .then(function () {
        show("off");
      })
      .catch(function () {
        show("failed");
      });
  });
})();
