// The kiosk's script (W-7): the return to the start after inactivity with a warning first,
// printing the ticket, the double-tap guard, typing on the keypads without a round trip, and
// reading the screen aloud. The pages work without it (plain forms and links); it only adds
// what a screen in kiosk-mode Chromium needs. Timers are plain setTimeout, so tests move the
// browser's clock instead of waiting.
(function () {
  'use strict';

  var body = document.body;
  var reset = body.getAttribute('data-reset') || '/';

  // --- Inactivity: the warning `WARN` seconds before going back to the start -----------------
  var WARN = 10;
  var listened = false;
  var idle = parseInt(body.getAttribute('data-idle') || '0', 10);
  var dialog = document.getElementById('k-warn');
  var warnTimer = null;
  var goTimer = null;

  function goHome() {
    window.location.assign(reset);
  }

  function showWarning() {
    if (dialog && !dialog.open && typeof dialog.showModal === 'function') {
      dialog.showModal();
      var stay = dialog.querySelector('[data-stay]');
      if (stay) stay.focus();
      // Someone who listens to the screen hears the warning too.
      if (listened) say(dialog.textContent);
    }
    goTimer = setTimeout(goHome, WARN * 1000);
  }

  function arm() {
    clearTimeout(warnTimer);
    clearTimeout(goTimer);
    if (dialog && dialog.open) dialog.close();
    if (idle > 0) warnTimer = setTimeout(showWarning, Math.max(idle - WARN, 1) * 1000);
  }

  if (idle > 0) {
    ['pointerdown', 'keydown', 'input'].forEach(function (ev) {
      document.addEventListener(ev, arm, true);
    });
    if (dialog) {
      var stay = dialog.querySelector('[data-stay]');
      if (stay) stay.addEventListener('click', arm);
      // Escape closes the dialog: that is staying too.
      dialog.addEventListener('cancel', arm);
    }
    arm();
  }

  // --- One ticket per tap: a form is sent once, then every ticket button waits ---------------
  function sealAll() {
    setTimeout(function () {
      // After the submission's data is taken: a disabled submitter would not be sent.
      document.querySelectorAll('form[data-once] button').forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  }

  document.querySelectorAll('form[data-once]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      if (body.getAttribute('data-sent')) {
        e.preventDefault();
        return;
      }
      body.setAttribute('data-sent', '1');
      sealAll();
    });
  });

  // Back from the browser's cache: the buttons work again.
  window.addEventListener('pageshow', function (e) {
    if (!e.persisted) return;
    body.removeAttribute('data-sent');
    document.querySelectorAll('form[data-once] button').forEach(function (b) {
      b.disabled = false;
    });
  });

  // --- Keypads: the keys type into the field here; only "Odbierz bilet" posts ----------------
  document.querySelectorAll('form[data-keypad]').forEach(function (form) {
    var input = form.querySelector('input[name="typed"]');
    if (!input) return;
    var max = parseInt(input.getAttribute('maxlength') || '20', 10);
    form.addEventListener('click', function (e) {
      var key = e.target.closest('button[data-key]');
      if (!key) return;
      e.preventDefault();
      var k = key.getAttribute('data-key');
      if (k === 'back') input.value = input.value.slice(0, -1);
      else if (k === 'clear') input.value = '';
      else if (input.value.length < max) input.value += k;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.focus();
    });
    // A physical keyboard types into the field wherever the focus is (a key of the screen,
    // the speech button): the key's character lands in the field focused here.
    document.addEventListener('keydown', function (e) {
      if (e.ctrlKey || e.altKey || e.metaKey || document.activeElement === input) return;
      if ((e.key.length === 1 && e.key !== ' ') || e.key === 'Backspace') input.focus();
    });
  });

  // --- The ticket: printed once when its screen opens (kiosk-mode Chromium with
  // --kiosk-printing prints without a dialog) ---------------------------------------------------
  if (body.getAttribute('data-print') && typeof window.print === 'function') {
    var key = 'okienko-printed:' + window.location.pathname;
    var printed = false;
    try {
      printed = window.sessionStorage.getItem(key) === '1';
      window.sessionStorage.setItem(key, '1');
    } catch (err) {
      printed = false;
    }
    if (!printed) window.setTimeout(function () { window.print(); }, 0);
  }

  // --- Reading the screen aloud: the text the server put in data-speak ------------------------
  // (A server-rendered audio file for the same text can replace speechSynthesis here.)
  var VOICES = { pl: 'pl-PL', en: 'en-GB', uk: 'uk-UA' };
  var speakButton = document.querySelector('[data-speak-button]');
  var main = document.getElementById('main');
  function say(text) {
    if (!('speechSynthesis' in window && 'SpeechSynthesisUtterance' in window)) return;
    var u = new window.SpeechSynthesisUtterance(text.replace(/\s+/g, ' ').trim());
    u.lang = VOICES[document.documentElement.lang] || 'pl-PL';
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(u);
  }
  if (speakButton && main && 'speechSynthesis' in window && 'SpeechSynthesisUtterance' in window) {
    speakButton.hidden = false;
    speakButton.addEventListener('click', function () {
      listened = true;
      say(main.getAttribute('data-speak') || main.textContent || '');
    });
  }
})();
