// The whole office in Chromium, as a newcomer sets it up (issue 14): an administrator pairs a
// kiosk, a hall display and the door display of desk 3 by one-time codes; a clerk logs in on
// the login page and chooses desk 3; a walk-in ticket taken by a tap on the kiosk page is
// called from the desk page and is on the hall display and on desk 3's door display within a
// second, announced with the server's audio (or the browser's voice, recorded). Each screen
// runs in its own browser, as each device does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launch, offline } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { admin, staff, pairingCode } from './lib/office.mjs';

const SLUG = 'cieszyn';

let server;
const browsers = [];

before(async () => {
  server = await startServer({ env: { OKIENKO_SHUTDOWN_DRAIN_MS: '0' } });
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.stop();
});

async function browser(args = []) {
  const b = await launch({ args });
  await offline(b.context);
  browsers.push(b);
  return b;
}

/** Clicks and waits for the page the form leads to. */
async function go(page, locator) {
  await Promise.all([page.waitForNavigation(), locator.click()]);
}

/** A device's browser redeems a pairing code on the pairing page; the page it lands on. */
async function pair(code, args) {
  const b = await browser(args);
  const page = await b.context.newPage();
  await page.goto(`${server.base}/t/${SLUG}/urzadzenie`);
  await page.getByLabel(/kod/i).first().fill(code.toLowerCase());
  await go(page, page.getByRole('button', { name: 'Połącz' }));
  return page;
}

/** A display page whose announcements are recorded: audio requests and speech handed over. */
async function recording(page) {
  const voice = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.endsWith('/tablica/zapowiedz')) voice.push(u.searchParams.get('numer'));
  });
  await page.addInitScript(() => {
    window.__spoken = [];
    const speak = (u) => { window.__spoken.push(u.text); queueMicrotask(() => u.onend && u.onend()); };
    if (window.speechSynthesis) window.speechSynthesis.speak = speak;
    else window.speechSynthesis = { speak, getVoices: () => [] };
  });
  await page.reload();
  await page.locator('body[data-live="true"]').waitFor({ timeout: 5000 });
  return voice;
}

test('paired by codes, a tap on the kiosk, a call from the desk page, on both displays within a second', async () => {
  const a = await admin(server, SLUG);
  const clerk = await staff(server, SLUG, a.token, 'CLERK', 'Anna Urzędniczka');

  const kiosk = await pair((await pairingCode(server, SLUG, a.token, { kind: 'KIOSK' })).code);
  assert.equal(new URL(kiosk.url()).pathname, `/t/${SLUG}/kiosk`);
  const sound = ['--autoplay-policy=no-user-gesture-required'];
  const hall = await pair((await pairingCode(server, SLUG, a.token, { kind: 'DISPLAY' })).code, sound);
  assert.equal(new URL(hall.url()).pathname, `/t/${SLUG}/tablica`);
  const door = await pair((await pairingCode(server, SLUG, a.token, { kind: 'DISPLAY', desk: 3 })).code, sound);
  assert.equal(new URL(door.url()).pathname, `/t/${SLUG}/tablica/stanowisko/3`);
  const hallVoice = await recording(hall);
  const doorVoice = await recording(door);

  const clerkBrowser = await browser();
  const desk = await clerkBrowser.context.newPage();
  await desk.goto(`${server.base}/t/${SLUG}/stanowisko`);
  assert.equal(new URL(desk.url()).pathname, `/t/${SLUG}/personel/logowanie`);
  await desk.getByLabel('Login (adres e-mail)').fill(clerk.login);
  await desk.getByLabel('Hasło', { exact: true }).fill(clerk.password);
  await go(desk, desk.getByRole('button', { name: 'Zaloguj się' }));
  assert.equal(new URL(desk.url()).pathname, `/t/${SLUG}/stanowisko/wybor`);
  await desk.getByLabel('Stanowisko 3', { exact: true }).check();
  await go(desk, desk.getByRole('button', { name: 'Wybierz stanowisko' }));
  assert.equal(await desk.locator('h1').textContent(), 'Stanowisko 3');

  await go(kiosk, kiosk.getByRole('button', { name: 'Meldunek' }));
  const number = (await kiosk.locator('.k-t-number').textContent()).trim();
  assert.match(number, /^M\d{3}$/);

  await go(desk, desk.getByRole('button', { name: 'Wywołaj następny numer', exact: true }));
  assert.equal(await desk.locator('#desk-result').textContent(), `Wywołano numer ${number}.`);
  await hall.locator('#calls-current .call', { hasText: number }).waitFor({ timeout: 1000 });
  await door.locator('#door-number', { hasText: number }).waitFor({ timeout: 1000 });
  assert.match((await hall.locator('#calls-current .call').first().textContent()).replace(/\s+/g, ' '), /stanowisko 3/i);

  // Announced on both: the server's audio asked for, or the browser's voice handed the text.
  for (const [page, voice] of [[hall, hallVoice], [door, doorVoice]]) {
    await page.waitForFunction(
      (n) => window.__spoken.some((t) => t.includes('stanowisko')) || document.body.dataset.announced === n,
      number, { timeout: 3000 },
    ).catch(() => {});
    const spoken = await page.evaluate(() => window.__spoken);
    assert.ok(voice.includes(number) || spoken.some((t) => t.includes('stanowisko 3')),
      `announced: audio ${JSON.stringify(voice)}, speech ${JSON.stringify(spoken)}`);
  }
  for (const [page, what] of [[kiosk, 'the kiosk ticket'], [desk, 'the desk with the called ticket'],
    [hall, 'the hall display with the call'], [door, 'the door display with the call']]) {
    await expectAccessible(page, `the office walk: ${what}`);
  }
});
