// The compose form: attach files as soon as they are chosen, save the draft when the page is
// left, and never let Send overtake an autosave under way. Without this script the form still
// works: Attach and Send buttons, and htmx's autosave every few seconds.
(function () {
  "use strict";

  var form = document.getElementById("compose-form");
  if (!form) return;

  var changes = 0; // bumped on every edit
  var saved = 0; // the edit count the last save (autosave or beacon) included
  var sending = 0; // the edit count a request under way includes
  var leaving = false; // a form submit is navigating away: it saves the draft itself

  form.addEventListener("input", function () {
    changes += 1;
  });
  form.addEventListener("change", function (event) {
    changes += 1;
    var target = event.target;
    if (target.id === "f-sender") document.getElementById("f-sender-picked").value = "1";
    if (target.matches("input[type=file][data-attach-on-change]") && target.files.length) {
      var button = document.getElementById(target.dataset.attachOnChange);
      if (button) form.requestSubmit(button);
    }
  });

  form.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt === form) sending = changes;
  });
  form.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt === form && event.detail.successful) saved = sending;
  });

  // A submit while an autosave is under way waits for it: the autosave may be creating the
  // draft, and the submit must save over that draft, not make a second one.
  form.addEventListener("submit", function (event) {
    if (!form.classList.contains("htmx-request")) {
      leaving = true;
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    form.addEventListener(
      "htmx:afterRequest",
      function () {
        form.requestSubmit(submitter || undefined);
      },
      { once: true }
    );
  });

  // Leaving the page (another link, reload, closing the tab) saves what changed since the
  // last autosave. The beacon outlives the page; its answer is not read.
  window.addEventListener("pagehide", function () {
    if (leaving || changes === saved || !navigator.sendBeacon) return;
    var data = new FormData(form);
    ["files", "action", "remove"].forEach(function (name) {
      data.delete(name);
    });
    if (navigator.sendBeacon(form.getAttribute("hx-post"), data)) saved = changes;
  });
})();
