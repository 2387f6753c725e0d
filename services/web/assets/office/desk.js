// The desk screen's script, an improvement only (the page works without it): after an action
// the focus goes to its result (or to the error summary), a second click on a submit button
// while the page posts does nothing, the recall button (CI-8) is disabled until the time the
// server computed, counting down (without the script the server refuses an early recall), and
// the desk's queues are read again every 20 seconds, quietly (no live region: the clerk looks
// when calling; the page itself is unchanged, so the focus stays where it is).
(function () {
  'use strict';

  function countdown(button) {
    var wait = parseInt(button.getAttribute('data-wait'), 10);
    if (!(wait > 0)) return;
    var hint = document.getElementById('desk-recall-hint');
    var left = document.getElementById('desk-countdown');
    var until = Date.now() + wait * 1000;
    button.disabled = true;
    function tick() {
      var s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      if (s > 0) {
        if (left) left.textContent = Math.floor(s / 60) + ':' + ('0' + (s % 60)).slice(-2);
        return;
      }
      clearInterval(timer);
      button.disabled = false;
      if (hint) hint.textContent = hint.getAttribute('data-ready');
    }
    var timer = setInterval(tick, 1000);
    tick();
  }

  var REFRESH_MS = 20000;

  function refreshQueues() {
    var mine = document.querySelector('.desk-queues');
    if (!mine || document.hidden) return;
    fetch(location.pathname, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('.desk-queues');
        if (fresh) mine.innerHTML = fresh.innerHTML;
      })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }

  document.addEventListener('DOMContentLoaded', function () {
    setInterval(refreshQueues, REFRESH_MS);
    var first = document.getElementById('error-summary') || document.getElementById('desk-result');
    if (first) first.focus();
    document.querySelectorAll('form').forEach(function (form) {
      form.addEventListener('submit', function (e) {
        if (form.dataset.sent) { e.preventDefault(); return; }
        form.dataset.sent = '1';
      });
    });
    var recall = document.getElementById('desk-recall');
    if (recall) countdown(recall);
  });
})();
