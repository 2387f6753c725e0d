// A small improvement only: with JavaScript, the error summary takes the focus, so a screen
// reader reads it first; a second click on a submit button while the page posts does nothing.
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    var summary = document.getElementById('error-summary');
    if (summary) summary.focus();
    document.querySelectorAll('form').forEach(function (form) {
      form.addEventListener('submit', function (e) {
        if (form.dataset.sent) { e.preventDefault(); return; }
        form.dataset.sent = '1';
      });
    });
  });
})();
