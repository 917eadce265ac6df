// The mail pages: a destructive button of a form with several asks first (data-confirm-button
// holds the translated question); without this script the button just submits.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var question = submitter && submitter.dataset && submitter.dataset.confirmButton;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
