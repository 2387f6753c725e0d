// The call displays' script (office/display.rs; W-8, CI-7): keeps the board the server rendered
// live over the display WebSocket, chimes and speaks every call and recall, and reconnects by
// itself, reading `board` again each time the subscription is live.
//
// The graphql-transport-ws client is written out here rather than taken from a library: the
// pages have no bundler and embed every file, and a display needs four of the protocol's
// messages (connection_init → connection_ack, subscribe → next) and its ping/pong. The socket
// is authenticated by the display's device cookie, which the browser sends with the upgrade
// (queue_http.rs, cookie_display): the script never sees the token.
'use strict';

(() => {
  const body = document.body;
  if (!body || !body.dataset.display) return;
  const cfg = body.dataset;
  const door = cfg.display === 'door';
  const myDesk = door ? Number(cfg.desk) : null;
  const CURRENT = Number(cfg.current) || 3;
  const PREVIOUS = Number(cfg.previous) || 6;
  /** How long the newest call stays highlighted. */
  const FRESH_MS = 10000;
  /** Reconnecting: the first wait, doubled after each failure up to the last, with jitter. */
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  /** A silent socket is tested this often with a ping; no pong in time ends it. */
  const PING_MS = 30000;
  const PONG_WITHIN_MS = 10000;
  /** An announcement that never reports its end lets the next one go after this. */
  const SOUND_GUARD_MS = 15000;

  const BOARD = '{ board { calls { number desk queueName serving callCount } } }';
  const EVENTS = 'subscription { events { kind number desk queueName callCount voiceText } }';

  const status = document.getElementById('display-status');
  const soundButton = document.getElementById('display-sound');

  // ---------------------------------------------------------------------------------------
  // The board: calls latest first, as `board` gives them.

  /** number → time until which it is highlighted */
  const fresh = new Map();

  function text(el, sel) {
    const x = el.querySelector(sel);
    return x ? x.textContent.trim() : '';
  }

  /** The calls the server rendered, so the first event has something to add to. */
  function fromPage() {
    if (door) {
      const n = document.getElementById('door-number');
      if (!n || n.hidden || !n.textContent.trim()) return [];
      return [{ number: n.textContent.trim(), desk: myDesk, serving: false }];
    }
    return Array.from(document.querySelectorAll('.calls .call')).map((li) => ({
      number: text(li, '.call-number'),
      desk: Number(text(li, '.call-desk-no')),
      serving: li.classList.contains('call-serving'),
    }));
  }

  let calls = fromPage();

  function isFresh(number) {
    return (fresh.get(number) || 0) > Date.now();
  }

  function callItem(template, c) {
    const li = template.content.firstElementChild.cloneNode(true);
    li.querySelector('.call-number').textContent = c.number;
    li.querySelector('.call-desk-no').textContent = String(c.desk);
    li.classList.toggle('call-fresh', isFresh(c.number));
    li.classList.toggle('call-serving', !!c.serving);
    return li;
  }

  function renderHall() {
    const template = document.getElementById('call-template');
    const current = document.getElementById('calls-current');
    const previous = document.getElementById('calls-previous');
    if (!template || !current || !previous) return;
    current.replaceChildren(...calls.slice(0, CURRENT).map((c) => callItem(template, c)));
    previous.replaceChildren(
      ...calls.slice(CURRENT, CURRENT + PREVIOUS).map((c) => callItem(template, c)),
    );
    const empty = document.getElementById('calls-empty');
    if (empty) empty.hidden = calls.length > 0;
  }

  function renderDoor() {
    const number = document.getElementById('door-number');
    const invite = document.getElementById('door-invite');
    const box = document.getElementById('door-call');
    if (!number || !invite || !box) return;
    const mine = calls.find((c) => c.desk === myDesk);
    number.hidden = !mine;
    number.textContent = mine ? mine.number : '';
    const say = !mine ? 'idle' : mine.serving ? 'serving' : 'called';
    invite.textContent = invite.dataset[say] || '';
    box.classList.toggle('call-fresh', !!mine && isFresh(mine.number));
  }

  function render() {
    if (door) renderDoor();
    else renderHall();
  }

  function setBoard(list) {
    calls = (list || [])
      .filter((c) => c && c.number && c.desk != null)
      .map((c) => ({ number: c.number, desk: c.desk, serving: !!c.serving }));
    render();
  }

  function onEvent(e) {
    if (!e || !e.kind) return;
    if (e.kind === 'CONNECTED') {
      online();
      return;
    }
    if (!e.number) return;
    calls = calls.filter((c) => c.number !== e.number);
    if (e.kind === 'CLEARED') {
      render();
      return;
    }
    if ((e.kind === 'CALLED' || e.kind === 'RECALLED') && e.desk != null) {
      calls.unshift({ number: e.number, desk: e.desk, serving: false });
      calls = calls.slice(0, CURRENT + PREVIOUS + 6);
      fresh.set(e.number, Date.now() + FRESH_MS);
      setTimeout(render, FRESH_MS + 50);
      render();
      if (!door || e.desk === myDesk) announce(e);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Sound: the chime, then the spoken call (the server's audio, or the browser's synthesis).

  const queue = [];
  let playing = false;
  /** The announcement held back while the browser refuses sound without a gesture. */
  let held = null;

  function spoken(e) {
    return e.voiceText || `Numer ${e.number.split('').join(' ')}, stanowisko ${e.desk}`;
  }

  /** The server's audio of a call, loading at once, so it is ready when its turn comes. */
  function voiceOf(number, desk) {
    if (cfg.voice !== 'server') return null;
    return load(`${cfg.voiceUrl}?numer=${encodeURIComponent(number)}&stanowisko=${encodeURIComponent(desk)}`);
  }

  function announce(e) {
    queue.push({ number: e.number, desk: e.desk, text: spoken(e), voice: voiceOf(e.number, e.desk) });
    // A burst of calls: the newest few are spoken, not a backlog.
    while (queue.length > 4) queue.shift();
    if (!playing) next();
  }

  function next() {
    const item = queue.shift();
    if (!item) {
      playing = false;
      return;
    }
    playing = true;
    sayOne(item)
      .catch((err) => {
        if (err && err.name === 'NotAllowedError') {
          held = item;
          soundButton.hidden = false;
          queue.length = 0;
        }
      })
      .finally(() => {
        if (held) playing = false;
        else next();
      });
  }

  /** An audio element for `url`, loading at once (the call's audio loads during the chime). */
  function load(url) {
    const audio = new Audio(url);
    audio.preload = 'auto';
    audio.load();
    return audio;
  }

  /** Plays `audio` to its end; rejects when it cannot (NotAllowedError: no gesture yet). */
  function play(audio) {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        if (err) reject(err);
        else resolve();
      };
      const guard = setTimeout(() => finish(), SOUND_GUARD_MS);
      audio.addEventListener('ended', () => finish());
      audio.addEventListener('error', () => finish(new Error(`cannot play ${audio.src}`)));
      if (audio.error) finish(new Error(`cannot play ${audio.src}`));
      const p = audio.play();
      if (p && p.catch) p.catch((err) => finish(err || new Error('play')));
    });
  }

  /** The browser's voice: Polish (pl-PL), when it has any. */
  function synthesise(words) {
    return new Promise((resolve) => {
      const synth = window.speechSynthesis;
      if (!synth || typeof window.SpeechSynthesisUtterance !== 'function') {
        resolve();
        return;
      }
      const u = new window.SpeechSynthesisUtterance(words);
      u.lang = 'pl-PL';
      const polish = (synth.getVoices() || []).find((v) => /^pl/i.test(v.lang || ''));
      if (polish) u.voice = polish;
      const guard = setTimeout(resolve, SOUND_GUARD_MS);
      u.onend = u.onerror = () => {
        clearTimeout(guard);
        resolve();
      };
      synth.speak(u);
    });
  }

  async function sayOne(item) {
    // Played once: an announcement held back for a gesture loads its audio again.
    const voice = item.voice || voiceOf(item.number, item.desk);
    item.voice = null;
    try {
      await play(load(cfg.chime));
    } catch (err) {
      if (err && err.name === 'NotAllowedError') throw err;
    }
    if (voice) {
      try {
        await play(voice);
        return;
      } catch (err) {
        if (err && err.name === 'NotAllowedError') throw err;
        // The server could not speak it: the browser's voice instead.
      }
    }
    await synthesise(item.text);
  }

  if (soundButton) {
    soundButton.addEventListener('click', () => {
      soundButton.hidden = true;
      const item = held;
      held = null;
      if (item) {
        queue.unshift(item);
        if (!playing) next();
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // The socket (graphql-transport-ws).

  let socket = null;
  let failures = 0;
  let ids = 0;
  let eventsId = null;
  let boardId = null;
  let pingTimer = null;
  let pongTimer = null;

  function send(ws, msg) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function offline() {
    if (status) status.textContent = status.dataset.offline || '';
    body.dataset.live = 'false';
  }

  function online() {
    failures = 0;
    if (status) status.textContent = '';
    body.dataset.live = 'true';
    boardId = `board-${++ids}`;
    if (socket) send(socket, { id: boardId, type: 'subscribe', payload: { query: BOARD } });
  }

  function keepAlive(ws) {
    clearTimeout(pingTimer);
    clearTimeout(pongTimer);
    pingTimer = setTimeout(() => {
      send(ws, { type: 'ping' });
      pongTimer = setTimeout(() => ws.close(4000, 'no pong'), PONG_WITHIN_MS);
    }, PING_MS);
  }

  function onMessage(ws, raw, state) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    keepAlive(ws);
    switch (msg.type) {
      case 'connection_ack':
        state.acked = true;
        eventsId = `events-${++ids}`;
        send(ws, { id: eventsId, type: 'subscribe', payload: { query: EVENTS } });
        break;
      case 'ping':
        send(ws, { type: 'pong' });
        break;
      case 'next': {
        const data = msg.payload && msg.payload.data;
        if (msg.id === eventsId && data) onEvent(data.events);
        else if (msg.id === boardId && data && data.board) setBoard(data.board.calls);
        break;
      }
      case 'complete':
        // The subscription ended without the socket: start over.
        if (msg.id === eventsId) ws.close(4000, 'subscription ended');
        break;
      case 'error':
        if (msg.id === eventsId) ws.close(4000, 'subscription refused');
        break;
      default:
        break;
    }
  }

  /** Whether this browser is still a paired display: the page answers with itself, not with
   * the redirect to the pairing page. */
  async function stillPaired() {
    try {
      const r = await fetch(location.href, { redirect: 'manual', cache: 'no-store' });
      return r.type !== 'opaqueredirect';
    } catch {
      return true;
    }
  }

  function retry(refused) {
    offline();
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failures, 10));
    failures += 1;
    const wait = ceiling / 2 + Math.random() * (ceiling / 2);
    setTimeout(async () => {
      // Refused at connection_init: a device no longer paired goes to the pairing page.
      if (refused && !(await stillPaired())) {
        location.reload();
        return;
      }
      connect();
    }, wait);
  }

  function connect() {
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${cfg.ws}`;
    let ws;
    try {
      ws = new WebSocket(url, 'graphql-transport-ws');
    } catch {
      retry(false);
      return;
    }
    socket = ws;
    const state = { acked: false };
    ws.addEventListener('open', () => {
      send(ws, { type: 'connection_init', payload: {} });
      keepAlive(ws);
    });
    ws.addEventListener('message', (m) => onMessage(ws, m.data, state));
    ws.addEventListener('close', (e) => {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(pingTimer);
      clearTimeout(pongTimer);
      retry(!state.acked && (e.code === 1002 || e.code === 4401 || e.code === 4403));
    });
  }

  render();
  connect();
})();
