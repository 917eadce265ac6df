// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function updateSelection() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var count = form.querySelectorAll("input[name=ids]:checked").length;
    var badge = form.querySelector("[data-selected-count]");
    if (badge) badge.textContent = badge.dataset.template.replace("{n}", String(count));
    var panel = document.getElementById("bulk-panel");
    if (panel && count > 0) panel.open = true;
  }

  function localTimes(root) {
    var lang = document.documentElement.lang || undefined;
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.textContent = when.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
        el.title = el.getAttribute("datetime");
      }
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      var scope = target.closest("form") || document;
      scope.querySelectorAll(target.dataset.selectAll).forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches("[data-select-all], input[name=ids]")) updateSelection();
  });

  // Destructive forms ask first (data-confirm holds the translated question).
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // "Test account": the form goes to the test route, whose answer arrives one line of JSON at
  // a time ({"html", "done", "state"}); each line replaces the test panel, so the steps show
  // as they complete. Without this script the button submits the form and the page returns.
  var running = null;

  function showPanel(panel, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.firstElementChild;
    if (fresh) panel.replaceWith(fresh);
    return fresh || panel;
  }

  function readLines(response, onLine) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
        var lines = buffer.split("\n");
        buffer = lines.pop();
        lines.forEach(function (line) {
          if (line.trim()) onLine(JSON.parse(line));
        });
        if (!chunk.done) return pump();
        if (buffer.trim()) onLine(JSON.parse(buffer));
        return null;
      });
    }
    return pump();
  }

  function setBusy(button, busy) {
    button.disabled = busy;
    if (busy) {
      button.dataset.idleText = button.textContent;
      if (button.dataset.busyText) button.textContent = button.dataset.busyText;
    } else if (button.dataset.idleText) {
      button.textContent = button.dataset.idleText;
    }
  }

  function liveTest(button) {
    var form = button.form;
    var panel = document.getElementById("test-panel");
    if (!form || !panel || !window.fetch || !window.TextDecoder) return false;
    if (running) running.abort();
    var controller = new AbortController();
    running = controller;
    var failedText = panel.dataset.failedText;
    setBusy(button, true);
    panel.setAttribute("aria-busy", "true");
    panel.scrollIntoView({ block: "nearest", behavior: "smooth" });
    fetch(button.getAttribute("formaction"), {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Postroom-Live": "1" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected && type.indexOf("text/html") === 0) {
          window.location.assign(response.url); // the session ended: the login page
          return null;
        }
        if (!response.ok || type.indexOf("application/x-ndjson") !== 0 || !response.body) {
          throw new Error("HTTP " + response.status);
        }
        return readLines(response, function (message) {
          panel = showPanel(panel, message.html);
        });
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        panel.textContent = "";
        var note = document.createElement("p");
        note.className = "alert alert-error";
        note.textContent = failedText;
        panel.appendChild(note);
      })
      .then(function () {
        if (running === controller) running = null;
        setBusy(button, false);
        panel.removeAttribute("aria-busy");
      });
    return true;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-live-test]");
    if (button && !button.disabled && liveTest(button)) event.preventDefault();
  });

  // Saving runs the connection test first: say so while the browser waits.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (!event.defaultPrevented && submitter && submitter.id === "save" && submitter.dataset.busyText) {
      submitter.dataset.idleText = submitter.textContent;
      submitter.textContent = submitter.dataset.busyText;
      submitter.setAttribute("aria-disabled", "true");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    updateSelection();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    localTimes(event.target);
    updateSelection();
  });
})();
