// The hall and door displays in Chromium (issue 14 item 4, W-8, CI-7): a walk-in ticket taken
// at the kiosk and called at the desk is on both displays within a second and announced (the
// server's audio requested, or the browser's speech synthesis called); a display that loses
// its server shows the offline notice, comes back by itself with the board read again, and a
// recall is announced again; without JavaScript the board is the server's and reloads itself;
// a browser that holds sound back until a gesture offers "Włącz dźwięk". axe-core on every
// state. The backoff timers run on the page's clock (page.clock), not waited for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { launch, offline } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { admin, staff, offices, deviceToken, setCookie, DEVICE_COOKIE } from './lib/office.mjs';

const SLUG = 'cieszyn';
/** Stopped servers exit at once (no drain for a load balancer). */
const ENV = { OKIENKO_SHUTDOWN_DRAIN_MS: '0' };
/** The recall is allowed 10 minutes after the call (CI-8): the restarted server is later. */
const LATER = '2026-12-01T08:11:00Z';
const OFFLINE = 'Brak połączenia z serwerem – ponawiam…';
const VOICE_PATH = `/t/${SLUG}/tablica/zapowiedz`;

/** Screenshots go to OKIENKO_SCREENSHOTS when it names a directory. */
const shots = process.env.OKIENKO_SCREENSHOTS;

let server;
let browser;
let plain;
let t;

before(async () => {
  server = await startServer({ env: ENV });
  const a = await admin(server, SLUG);
  const clerk = await staff(server, SLUG, a.token);
  const office = (await offices(server, SLUG, a.token))[0].id;
  t = {
    clerk: clerk.token,
    office,
    kiosk: await deviceToken(server, SLUG, a.token, 'KIOSK', office),
    display: await deviceToken(server, SLUG, a.token, 'DISPLAY', office),
  };
  // As a kiosk-mode Chromium is started for a display (README).
  browser = await launch({ args: ['--autoplay-policy=no-user-gesture-required'] });
  plain = await launch({ javaScriptEnabled: false });
  for (const b of [browser, plain]) {
    await offline(b.context);
    await setCookie(b.context, server, DEVICE_COOKIE, t.display);
  }
  if (shots) mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await plain?.close();
  await server?.stop();
});

async function gql(path, query, variables, token) {
  const v = await server.gql(path, query, variables, token);
  assert.ok(!v.errors, JSON.stringify(v));
  return v.data;
}

/** A walk-in ticket of queue `q` from the kiosk, called to `desk` by the clerk: the ticket. */
async function issueAndCall(q, desk) {
  await gql(`/t/${SLUG}/kiosk/graphql`, 'mutation($q: String!) { issueTicket(queue: $q) { number } }', { q }, t.kiosk);
  const d = await gql(`/t/${SLUG}/desk/graphql`,
    'mutation($o: ID!, $d: Int!) { callNext(officeId: $o, desk: $d) { id number desk } }',
    { o: t.office, d: desk }, t.clerk);
  return d.callNext;
}

/**
 * A display page with what it announces recorded: the server audio it requests and what it
 * hands to the browser's speech synthesis (stubbed, so a machine without voices records too).
 */
async function display(path, { clock = true, context = browser.context } = {}) {
  const page = await context.newPage();
  const voice = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === VOICE_PATH) voice.push(`${u.searchParams.get('numer')}/${u.searchParams.get('stanowisko')}`);
  });
  await page.addInitScript(() => {
    window.__spoken = [];
    const speak = (u) => {
      window.__spoken.push({ text: u.text, lang: u.lang });
      queueMicrotask(() => u.onend && u.onend());
    };
    if (window.speechSynthesis) window.speechSynthesis.speak = speak;
    else window.speechSynthesis = { speak, getVoices: () => [] };
  });
  if (clock) await page.clock.install();
  await page.goto(`${server.base}/t/${SLUG}${path}`);
  return { page, voice };
}

/** Stops the page's clock where it is: its timers fire only when the test runs it. */
async function pause(page) {
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 2000));
}

const live = (page) => page.locator('body[data-live="true"]').waitFor({ timeout: 5000 });

/** How many times `number` at `desk` was announced on `d`. */
async function announced(d, number, desk) {
  const text = `Numer ${number.split('').join(' ')}, stanowisko ${desk}`;
  const spoken = await d.page.evaluate(() => window.__spoken.map((s) => s.text));
  return d.voice.filter((v) => v === `${number}/${desk}`).length + spoken.filter((s) => s === text).length;
}

async function expectAnnounced(d, number, desk, times, within = 1000) {
  const until = Date.now() + within;
  let n = await announced(d, number, desk);
  while (n < times && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    n = await announced(d, number, desk);
  }
  assert.equal(n, times, `${number} at desk ${desk} announced ${n} times on ${d.page.url()}`);
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`) });
}

let hall;
let door;
let first;

test('a called ticket is on the hall and door displays within a second, announced', async () => {
  hall = await display('/tablica');
  door = await display('/tablica/stanowisko/3');
  await live(hall.page);
  await live(door.page);
  await expectAccessible(hall.page, 'the hall display, empty');
  await expectAccessible(door.page, 'the door display, idle');
  assert.equal((await door.page.locator('#door-invite').textContent()).trim(), 'Proszę czekać na wywołanie numeru.');

  first = await issueAndCall('M', 3);
  assert.equal(first.number, 'M001');
  await hall.page.locator('#calls-current .call', { hasText: 'M001' }).waitFor({ timeout: 1000 });
  await door.page.locator('#door-number', { hasText: 'M001' }).waitFor({ timeout: 1000 });
  assert.equal((await hall.page.locator('#calls-current .call').first().textContent()).replace(/\s+/g, ' ').trim(),
    'M001 → stanowisko 3');
  assert.equal((await door.page.locator('#door-invite').textContent()).trim(), 'Zapraszamy');
  // The newest call stands out.
  assert.match(await hall.page.locator('#calls-current .call').first().getAttribute('class'), /call-fresh/);
  await expectAnnounced(hall, 'M001', 3, 1);
  await expectAnnounced(door, 'M001', 3, 1);

  // A call at another desk: on the hall display, first; the door of desk 3 neither shows nor
  // says it.
  const other = await issueAndCall('A', 1);
  await hall.page.locator('#calls-current .call', { hasText: other.number }).first().waitFor({ timeout: 1000 });
  assert.deepEqual(
    (await hall.page.locator('#calls-current .call-number').allTextContents()),
    [other.number, 'M001'],
  );
  await expectAnnounced(hall, other.number, 1, 1);
  assert.equal(await announced(door, other.number, 1), 0);
  assert.equal((await door.page.locator('#door-number').textContent()).trim(), 'M001');

  await expectAccessible(hall.page, 'the hall display with calls');
  await expectAccessible(door.page, 'the door display with a call');
  await shot(hall.page, 'hall-online');
  await shot(door.page, 'door-online');
});

test('a display that loses its server shows it, comes back by itself, and a recall speaks again', async () => {
  for (const d of [hall, door]) await pause(d.page);
  await server.halt();
  for (const d of [hall, door]) {
    await d.page.locator('#display-status', { hasText: OFFLINE }).waitFor({ timeout: 5000 });
    assert.equal(await d.page.locator('#display-status').getAttribute('role'), 'status');
  }
  // What was shown stays shown.
  assert.equal((await door.page.locator('#door-number').textContent()).trim(), 'M001');
  // axe-core keeps time with the page's timers: the clock runs while it checks (the retries
  // meanwhile find no server), then stops again.
  for (const d of [hall, door]) {
    await d.page.clock.resume();
    await expectAccessible(d.page, `${d === hall ? 'the hall' : 'the door'} display, offline`);
    await shot(d.page, `${d === hall ? 'hall' : 'door'}-offline`);
    await pause(d.page);
  }

  // A new process on the same port and data, ten minutes later; while no display listens a
  // ticket is called at desk 4: the displays learn it only from `board`, read on reconnecting.
  server = await startServer({ env: ENV, now: LATER, port: server.port, data: server.data });
  const missed = await issueAndCall('M', 4);
  // Still offline until the backoff's timer fires.
  assert.equal((await hall.page.locator('#display-status').textContent()).trim(), OFFLINE);
  // The longest wait of the backoff (30 s) on the page's clock: the retry due fires.
  for (const d of [hall, door]) await d.page.clock.runFor(30000);
  for (const d of [hall, door]) {
    await live(d.page);
    assert.equal((await d.page.locator('#display-status').textContent()).trim(), '');
  }
  await hall.page.locator('#calls-current .call', { hasText: missed.number }).waitFor({ timeout: 1000 });
  assert.equal(await announced(hall, missed.number, 4), 0, 'a call read from the board is not announced');

  // CI-8: the recall is on the displays and announced again.
  await gql(`/t/${SLUG}/desk/graphql`, 'mutation($t: ID!) { recall(ticketId: $t) { callCount } }', { t: first.id }, t.clerk);
  await hall.page.waitForFunction(
    () => document.querySelector('#calls-current .call-number')?.textContent === 'M001', null, { timeout: 1000 });
  await expectAnnounced(hall, 'M001', 3, 2);
  await expectAnnounced(door, 'M001', 3, 2);
  await hall.page.clock.resume();
  await expectAccessible(hall.page, 'the hall display, back online');
  await shot(hall.page, 'hall-back');
  for (const d of [hall, door]) await d.page.close();
});

test('without JavaScript the display is the board the server rendered, reloading itself', async () => {
  const page = await plain.context.newPage();
  await page.goto(`${server.base}/t/${SLUG}/tablica`);
  // The latest calls, the recall of M001 and the call of M002 (within one second: either first).
  const shown = await page.locator('#calls-current .call-number').allTextContents();
  assert.deepEqual([...shown].sort(), ['A001', 'M001', 'M002'], shown.join());
  assert.equal(shown[2], 'A001');
  assert.equal(await page.locator('noscript').count(), 1);
  assert.match(await page.content(), /<meta http-equiv="refresh" content="10">/);
  await expectAccessible(page, 'the hall display without JavaScript', browser.context);
  await page.goto(`${server.base}/t/${SLUG}/tablica/stanowisko/4`);
  assert.equal((await page.locator('#door-number').textContent()).trim(), 'M002');
  await expectAccessible(page, 'the door display without JavaScript', browser.context);
  await shot(page, 'door-plain');
  await page.close();
});

test('a browser that holds sound back until a gesture offers "Włącz dźwięk"', async () => {
  const d = await display('/tablica', { clock: false });
  // Chromium without --autoplay-policy=no-user-gesture-required: play() is refused until the
  // page has had a user's gesture.
  // (Playwright's own evaluate counts as a gesture for `navigator.userActivation`: a click on
  // the page is what counts here.)
  await d.page.evaluate(() => {
    let gesture = false;
    document.addEventListener('click', () => { gesture = true; }, { capture: true });
    const real = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function play() {
      if (!gesture) {
        return Promise.reject(new DOMException('no gesture yet', 'NotAllowedError'));
      }
      return real.call(this);
    };
  });
  await live(d.page);
  const button = d.page.getByRole('button', { name: 'Włącz dźwięk' });
  assert.equal(await button.isVisible(), false);
  const call = await issueAndCall('G', 5);
  await d.page.locator('#calls-current .call', { hasText: call.number }).waitFor({ timeout: 1000 });
  await button.waitFor({ timeout: 1000 });
  await expectAccessible(d.page, 'the hall display asking for sound');
  await shot(d.page, 'hall-sound-button');
  const before = d.voice.filter((v) => v === `${call.number}/5`).length + (await d.page.evaluate(() => window.__spoken.length));
  await button.click();
  await button.waitFor({ state: 'hidden', timeout: 1000 });
  // Played after the gesture: the chime and the call, requested again (the audio element is
  // made anew) or spoken by the browser.
  const until = Date.now() + 2000;
  let after = before;
  while (after <= before && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    after = d.voice.filter((v) => v === `${call.number}/5`).length + (await d.page.evaluate(() => window.__spoken.length));
  }
  assert.ok(after > before, `announced after the gesture (${before} → ${after})`);
  await d.page.close();
});
