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

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    updateSelection();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    localTimes(event.target);
    updateSelection();
  });
})();
