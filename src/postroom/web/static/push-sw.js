// Postroom's Web Push service worker: shows each push message (JSON {title, body, url}, sent
// encrypted by the server, RFC 8291; the browser decrypts it) and opens its link on a click.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function messageOf(event) {
  if (!event.data) return {};
  try {
    var data = event.data.json();
    return data && typeof data === "object" ? data : {};
  } catch (e) {
    return { body: event.data.text() };
  }
}

// Only web links: a javascript: or data: URL in a message must never be opened.
function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    var parsed = new URL(url, self.location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch (e) {
    return null;
  }
}

self.addEventListener("push", function (event) {
  var data = messageOf(event);
  var title = typeof data.title === "string" && data.title ? data.title : "Postroom";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.body === "string" ? data.body : "",
      icon: "/static/favicon.svg",
      data: { url: safeUrl(data.url) },
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = event.notification.data && event.notification.data.url;
  if (url) event.waitUntil(self.clients.openWindow(url));
});
