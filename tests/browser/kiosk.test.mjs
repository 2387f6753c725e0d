// The ticket kiosk (issue 14 item 3, W-7) in Chromium, as a paired kiosk (its device token in
// the cookie the pairing page sets): a walk-in ticket taken on the start screen, Cieszyn's nine
// CI-5 queues on two screens, a booking checked in by its code on the keypad (CI-16), with and
// without JavaScript, Dąbrowa's phone check-in too early, in time and too late (DG-4, DG-8), the
// return to the start after inactivity with its warning first (the page's clock moved, never
// waited for), the ticket's 80 mm print layout (CI-3), speech output (speechSynthesis stubbed
// and recorded), 2 cm targets, axe-core on every screen and state, nothing fetched from
// elsewhere. Screenshots go to $KIOSK_SHOTS (default: the temp dir) to be looked at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, NOW } from './lib/server.mjs';
import { launch, offline } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { admin, deviceToken, setCookie, DEVICE_COOKIE } from './lib/office.mjs';

const SHOTS = process.env.KIOSK_SHOTS || join(tmpdir(), 'okienko-kiosk-shots');
mkdirSync(SHOTS, { recursive: true });

/** 2 cm in CSS pixels (96 per inch), the least size of a target (W-7). */
const TWO_CM = (2 / 2.54) * 96;

/** Records what the page printed and spoke instead of printing and speaking. */
function stubPrintAndSpeech() {
  window.__printed = 0;
  window.__spoken = [];
  window.print = () => { window.__printed += 1; };
  if (window.speechSynthesis) {
    window.speechSynthesis.speak = (u) => { window.__spoken.push({ text: u.text, lang: u.lang }); };
    window.speechSynthesis.cancel = () => {};
  }
}

let browser;
let plain;
let attempted;
let attemptedPlain;
const servers = [];

before(async () => {
  browser = await launch();
  plain = await launch({ javaScriptEnabled: false });
  attempted = await offline(browser.context);
  attemptedPlain = await offline(plain.context);
  browser.context.setDefaultTimeout(15000);
  plain.context.setDefaultTimeout(15000);
  await browser.context.addInitScript(stubPrintAndSpeech);
});

after(async () => {
  assert.deepEqual(attempted, [], 'the kiosk reached beyond this machine');
  assert.deepEqual(attemptedPlain, [], 'the kiosk reached beyond this machine');
  await browser?.close();
  await plain?.close();
  for (const s of servers) await s.stop();
});

/**
 * A server on the data directory `dir` (kept across restarts, so bookings and device tokens
 * stay) with its clock at `now`; the office helpers run the command line on that directory.
 */
async function serverOn(dir, now) {
  const s = await startServer({ now, env: { OKIENKO_DATA_DIR: dir } });
  s.data = dir;
  servers.push(s);
  return s;
}

async function stop(s) {
  servers.splice(servers.indexOf(s), 1);
  await s.stop();
}

/** A kiosk of `slug`'s first office, its token in the cookie of both browsers. */
async function pairKiosk(server, slug) {
  const a = await admin(server, slug);
  const token = await deviceToken(server, slug, a.token, 'KIOSK');
  for (const b of [browser, plain]) {
    await b.context.clearCookies();
    await setCookie(b.context, server, DEVICE_COOKIE, token);
  }
  return token;
}

const check = (page, what) =>
  expectAccessible(page, what, page.context() === plain.context ? browser.context : undefined);

/** Every visible link, button and field of the screen is at least 2 cm each way. */
async function expectBigTargets(page, what) {
  const small = await page.$$eval('a, button, input:not([type=hidden])', (els, min) => els
    .filter((e) => e.offsetParent !== null || e.closest('dialog[open]'))
    .map((e) => ({ e, r: e.getBoundingClientRect() }))
    .filter(({ r }) => r.width > 0 && (r.width < min - 0.5 || r.height < min - 0.5))
    .map(({ e, r }) => `${e.outerHTML.slice(0, 80)} ${r.width}x${r.height}`), TWO_CM);
  assert.deepEqual(small, [], `${what}: targets under 2 cm`);
}

async function kioskGql(server, slug, token, query, variables = {}) {
  const v = await server.gql(`/t/${slug}/kiosk/graphql`, query, variables, token);
  assert.ok(!v.errors, JSON.stringify(v));
  return v.data;
}

async function serviceId(server, slug, key) {
  const v = await server.gql(`/t/${slug}/graphql`, '{ services { id key } }');
  return v.data.services.find((s) => s.key === key).id;
}

async function book(server, slug, input) {
  const v = await server.gql(`/t/${slug}/graphql`,
    'mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { code } } }', { i: input });
  assert.ok(v.data?.createBooking, JSON.stringify(v));
  return v.data.createBooking.booking.code;
}

/** Clicks and waits for the page the form or link leads to. */
async function go(page, locator) {
  await Promise.all([page.waitForNavigation(), locator.click()]);
}

test('Cieszyn: the start screen, its nine queues on two screens, a walk-in ticket printed once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'okienko-kiosk-'));
  const server = await serverOn(dir, NOW);
  const token = await pairKiosk(server, 'cieszyn');
  const page = await browser.context.newPage();
  await page.goto(`${server.base}/t/cieszyn/kiosk`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'pl');
  assert.equal(await page.locator('h1').textContent(), 'Wybierz sprawę i weź bilet');
  await page.screenshot({ path: join(SHOTS, 'kiosk-start.png') });
  await check(page, 'the start screen');
  await expectBigTargets(page, 'the start screen');

  // W-7: six choices a screen; the check-in entry first; the rest on the next screen.
  const names = () => page.locator('.k-queue .k-name').allTextContents();
  const first = await names();
  assert.equal(first.length, 6);
  assert.equal(first[0], 'Odbierz bilet zarejestrowany przez Internet');
  assert.equal(await page.getByText('Strona 1 z 2').count(), 1);
  await go(page, page.getByRole('link', { name: 'Następne sprawy' }));
  const second = await names();
  assert.deepEqual(second, ['Zezwolenia na sprzedaż alkoholu', 'Karta dużej rodziny lub karta seniora', 'Rejestr wyborców']);
  await check(page, 'the second screen of queues');
  await expectBigTargets(page, 'the second screen');
  await go(page, page.getByRole('link', { name: 'Poprzednie sprawy' }));
  assert.deepEqual(await names(), first);

  // The language switch: text buttons in their own language, the page's lang true.
  for (const [name, lang, heading] of [['English', 'en', 'Choose your matter and take a ticket'], ['Українська', 'uk', 'Виберіть справу та візьміть талон']]) {
    const link = page.getByRole('link', { name });
    assert.equal(await link.getAttribute('lang'), lang);
    await go(page, link);
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    assert.equal(await page.locator('h1').textContent(), heading);
    await check(page, `the start screen in ${lang}`);
  }
  await go(page, page.getByRole('link', { name: 'Polski' }));

  // Speech: the button reads the screen's text in the screen's language.
  await page.getByRole('button', { name: /Czytaj na głos/ }).click();
  const spoken = await page.evaluate(() => window.__spoken);
  assert.equal(spoken.length, 1);
  assert.equal(spoken[0].lang, 'pl-PL');
  assert.match(spoken[0].text, /^Wybierz sprawę i weź bilet\. .*Meldunek\./);

  // A double tap on "Meldunek": one ticket (the button waits after the first tap, and the
  // server shows the same ticket for the same form).
  await Promise.all([
    page.waitForURL(/\/kiosk\/bilet\/\d+$/),
    page.getByRole('button', { name: 'Meldunek' }).dblclick(),
  ]);
  await page.waitForLoadState('load');
  assert.equal(await page.locator('.k-t-number').textContent(), 'M001');
  assert.equal(await page.locator('.k-t-queue').textContent(), 'Meldunek');
  assert.match(await page.locator('.k-t-printed').textContent(), /01\.12\.2026 09:0\d/);
  await page.waitForFunction(() => window.__printed === 1);
  const next = await kioskGql(server, 'cieszyn', token, 'mutation { issueTicket(queue: "M") { number } }');
  assert.equal(next.issueTicket.number, 'M002', 'the double tap printed one ticket');
  await check(page, 'the ticket screen');
  await expectBigTargets(page, 'the ticket screen');
  await page.screenshot({ path: join(SHOTS, 'kiosk-ticket.png') });
  await page.getByRole('button', { name: /Czytaj na głos/ }).click();
  const said = await page.evaluate(() => window.__spoken.at(-1).text);
  assert.match(said, /^Twój numer: M 0 0 1\. Meldunek\./);
  // Reloading the ticket's screen does not print it again.
  await page.reload();
  assert.equal(await page.evaluate(() => window.__printed), 0);

  // The print layout: only the ticket, 72 mm wide for the 80 mm roll.
  await page.emulateMedia({ media: 'print' });
  for (const hidden of ['.k-top', '.k-foot', 'h1', '.k-after']) {
    assert.equal(await page.locator(hidden).first().isVisible(), false, `${hidden} is printed`);
  }
  const box = await page.locator('.k-ticket').boundingBox();
  const mm = (px) => (px * 25.4) / 96;
  assert.ok(mm(box.width) <= 72.5 && mm(box.width) >= 70, `ticket ${mm(box.width)} mm wide`);
  assert.ok(mm(box.height) < 92, `ticket ${mm(box.height)} mm long: one 100 mm page`);
  for (const part of ['.k-t-office', '.k-t-queue', '.k-t-number', '.k-t-printed']) {
    assert.ok(await page.locator(part).isVisible(), `${part} is not printed`);
  }
  await page.screenshot({ path: join(SHOTS, 'kiosk-ticket-print.png'), fullPage: true });
  // The page size the printer gets, from the print stylesheet's @page: 80 mm wide, one page.
  const pdf = (await page.pdf({ preferCSSPageSize: true, printBackground: true })).toString('latin1');
  const boxes = [...pdf.matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)];
  assert.equal(boxes.length, 1, 'one page');
  assert.ok(Math.abs(Number(boxes[0][1]) - (80 / 25.4) * 72) < 1, `page width ${boxes[0][1]} pt`);
  await page.emulateMedia({ media: 'screen' });
  await page.close();
  await stop(server);
  rmSync(dir, { recursive: true, force: true });
});

test('the return to the start after inactivity, with a warning first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'okienko-kiosk-'));
  const server = await serverOn(dir, NOW);
  await pairKiosk(server, 'cieszyn');
  const page = await browser.context.newPage();
  await page.clock.install();
  // Mid-entry: the keypad goes back after 60 s, warning 10 s before.
  await page.goto(`${server.base}/t/cieszyn/kiosk/rezerwacja`);
  const warning = page.getByRole('dialog', { name: 'Za chwilę powrót do ekranu startowego' });
  await page.getByRole('button', { name: 'Czytaj na głos' }).click();
  assert.match(await page.evaluate(() => window.__spoken.at(-1).text), /^Odbierz bilet zarejestrowany przez Internet\. Wpisz kod/);
  await page.clock.runFor(45_000);
  assert.equal(await warning.isVisible(), false);
  await page.getByRole('button', { name: 'D', exact: true }).click();
  await page.clock.runFor(45_000);
  assert.equal(await warning.isVisible(), false, 'a key press starts the time again');
  await page.clock.runFor(6_000);
  assert.ok(await warning.isVisible());
  assert.match(await page.evaluate(() => window.__spoken.at(-1).text), /^Za chwilę powrót do ekranu startowego Jeśli nadal/,
    'who listened hears the warning');
  await check(page, 'the inactivity warning');
  await expectBigTargets(page, 'the inactivity warning');
  await page.screenshot({ path: join(SHOTS, 'kiosk-warning.png') });
  await page.getByRole('button', { name: 'Zostań' }).click();
  assert.equal(await warning.isVisible(), false);
  assert.equal(await page.locator('#typed').inputValue(), 'D', 'staying keeps what was typed');
  // A physical keyboard types into the field with the focus on a key of the screen.
  await page.getByRole('button', { name: 'K', exact: true }).focus();
  await page.keyboard.type('m7');
  assert.equal(await page.locator('#typed').inputValue(), 'Dm7');
  await page.getByRole('button', { name: 'Czytaj na głos' }).focus();
  await page.keyboard.press('Backspace');
  assert.equal(await page.locator('#typed').inputValue(), 'Dm');
  assert.match(page.url(), /\/kiosk\/rezerwacja$/);
  await page.clock.runFor(51_000);
  assert.ok(await warning.isVisible());
  await Promise.all([page.waitForURL(`${server.base}/t/cieszyn/kiosk`), page.clock.runFor(10_000)]);

  // A result in English: back to the Polish start screen for the next person after 30 s.
  await page.goto(`${server.base}/t/cieszyn/kiosk?lang=en`);
  await go(page, page.getByRole('button', { name: 'Meldunek' }));
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.clock.runFor(19_000);
  assert.equal(await warning.isVisible(), false);
  await page.clock.runFor(2_000);
  assert.ok(await page.getByRole('dialog', { name: 'Going back to the start screen soon' }).isVisible());
  await Promise.all([page.waitForURL(`${server.base}/t/cieszyn/kiosk`), page.clock.runFor(10_000)]);
  assert.equal(await page.locator('html').getAttribute('lang'), 'pl');
  // The Polish start screen itself has no timer.
  await page.clock.runFor(120_000);
  assert.equal(await warning.isVisible(), false);
  await page.close();
  await stop(server);
  rmSync(dir, { recursive: true, force: true });
});

test('Cieszyn: a booking checked in by its code on the keypad, with and without JavaScript', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'okienko-kiosk-'));
  let server = await serverOn(dir, NOW);
  await pairKiosk(server, 'cieszyn');
  const meldunek = await serviceId(server, 'cieszyn', 'meldunek');
  const dowody = await serviceId(server, 'cieszyn', 'dowody-osobiste');
  const input = (service, start, email) => ({
    serviceId: service, start, client: { email },
    acceptedTermsVersion: '1.0', consents: ['klauzula_informacyjna', 'rodo'],
  });
  // Wednesday 2 December 2026, 09:00 in Warsaw, two services; the kiosk at 08:30 (CI-16: 60 min).
  const code1 = await book(server, 'cieszyn', input(meldunek, '2026-12-02T08:00:00Z', 'ola@example.pl'));
  const code2 = await book(server, 'cieszyn', input(dowody, '2026-12-02T08:00:00Z', 'piotr@example.pl'));
  await stop(server);
  server = await serverOn(dir, '2026-12-02T07:30:00Z');

  const page = await browser.context.newPage();
  await page.goto(`${server.base}/t/cieszyn/kiosk`);
  await go(page, page.getByRole('link', { name: 'Odbierz bilet zarejestrowany przez Internet' }));
  assert.equal(await page.locator('h1').textContent(), 'Odbierz bilet zarejestrowany przez Internet');
  await check(page, 'the code keypad');
  await expectBigTargets(page, 'the code keypad');
  await page.screenshot({ path: join(SHOTS, 'kiosk-code.png') });
  // A wrong code typed on the screen's keys: what to do, and what was typed stays.
  for (const k of 'ACDEFG') await page.getByRole('button', { name: k, exact: true }).click();
  await page.getByRole('button', { name: 'Usuń znak' }).click();
  assert.equal(await page.locator('#typed').inputValue(), 'ACDEF');
  await page.getByRole('button', { name: 'H', exact: true }).click();
  await go(page, page.getByRole('button', { name: 'Odbierz bilet', exact: true }));
  assert.match(await page.locator('.k-error').textContent(), /Sprawdź kod w e-mailu .* punkcie informacji/);
  assert.equal(await page.locator('#typed').inputValue(), 'ACDEFH');
  assert.match(await page.title(), /^Błąd: /);
  await check(page, 'the code keypad with an unknown code');
  await page.screenshot({ path: join(SHOTS, 'kiosk-code-error.png') });
  await page.getByRole('button', { name: /Czytaj na głos/ }).click();
  assert.match(await page.evaluate(() => window.__spoken.at(-1).text), /^Nie znaleziono na dziś wizyty z tym kodem/);

  // The right code in lower case from a physical keyboard, Enter to take the ticket.
  await page.getByRole('button', { name: 'Wyczyść' }).click();
  await page.locator('#typed').pressSequentially(code1.toLowerCase());
  await Promise.all([page.waitForNavigation(), page.locator('#typed').press('Enter')]);
  assert.equal(await page.locator('.k-t-number').textContent(), 'M001');
  assert.equal(await page.locator('.k-t-booked').textContent(), 'Wizyta umówiona na godz. 09:00');
  await check(page, 'the ticket of a booked visit');

  // Without JavaScript: every key is a form's button, answered by the server.
  const noJs = await plain.context.newPage();
  await noJs.goto(`${server.base}/t/cieszyn/kiosk/rezerwacja`);
  for (const k of code2.toUpperCase()) await go(noJs, noJs.getByRole('button', { name: k, exact: true }));
  assert.equal(await noJs.locator('#typed').inputValue(), code2.toUpperCase());
  await check(noJs, 'the code keypad without JavaScript');
  await go(noJs, noJs.getByRole('button', { name: 'Odbierz bilet', exact: true }));
  assert.equal(await noJs.locator('.k-t-number').textContent(), 'D001');
  assert.equal(await noJs.locator('.k-t-booked').textContent(), 'Wizyta umówiona na godz. 09:00');
  await check(noJs, 'the ticket without JavaScript');
  await noJs.close();
  await page.close();
  await stop(server);
  rmSync(dir, { recursive: true, force: true });
});

test('Dąbrowa Górnicza: the phone keypad too early, in time and too late', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'okienko-kiosk-'));
  let server = await serverOn(dir, NOW);
  await pairKiosk(server, 'dabrowa-gornicza');
  const service = await serviceId(server, 'dabrowa-gornicza', 'rejestracja-dzialalnosci');
  // Wednesday 2 December 2026, 09:00 and 10:00 in Warsaw, one phone number.
  for (const start of ['2026-12-02T08:00:00Z', '2026-12-02T09:00:00Z']) {
    await book(server, 'dabrowa-gornicza', {
      serviceId: service, start,
      client: { name: 'Piotr Zieliński', email: 'piotr@example.pl', phone: '600 100 200' },
      acceptedTermsVersion: '1.0', consents: ['rodo'],
    });
  }
  const at = async (now, typed, keys) => {
    await stop(server);
    server = await serverOn(dir, now);
    const page = await browser.context.newPage();
    await page.goto(`${server.base}/t/dabrowa-gornicza/kiosk`);
    await go(page, page.getByRole('link', { name: 'Potwierdzenie umówionej internetowo wizyty' }));
    if (keys) {
      for (const k of typed) await page.getByRole('button', { name: k, exact: true }).click();
    } else {
      await page.locator('#typed').fill(typed);
    }
    await go(page, page.getByRole('button', { name: 'Odbierz bilet', exact: true }));
    return page;
  };

  // 08:20: too early, from when.
  let page = await at('2026-12-02T07:20:00Z', '600100200', true);
  assert.equal(await page.locator('h1').textContent(), 'Odbierz bilet na wizytę umówioną przez Internet');
  assert.equal(await page.locator('label[for=typed]').textContent(), 'Numer telefonu');
  const early = await page.locator('.k-error').textContent();
  assert.match(early, /Jest jeszcze za wcześnie\. Twoja wizyta jest o godzinie 09:00: bilet odbierzesz od godziny 08:30/);
  await check(page, 'the phone keypad, too early');
  await expectBigTargets(page, 'the phone keypad');
  await page.screenshot({ path: join(SHOTS, 'kiosk-phone-early.png') });
  await page.close();

  // 08:35: in time, typed as "+48 600-100-200": the U ticket for 09:00 (DG-8); the same
  // number again: the 10:00 visit is not due yet (one ticket per check-in).
  page = await at('2026-12-02T07:35:00Z', '+48 600-100-200', false);
  assert.equal(await page.locator('.k-t-number').textContent(), 'U001');
  assert.equal(await page.locator('.k-t-queue').textContent(), 'Potwierdzenie umówionej internetowo wizyty');
  assert.equal(await page.locator('.k-t-booked').textContent(), 'Wizyta umówiona na godz. 09:00');
  await check(page, 'the U ticket');
  await go(page, page.getByRole('link', { name: 'Powrót do początku' }));
  await go(page, page.getByRole('link', { name: 'Potwierdzenie umówionej internetowo wizyty' }));
  await page.locator('#typed').fill('600100200');
  await go(page, page.getByRole('button', { name: 'Odbierz bilet', exact: true }));
  assert.match(await page.locator('.k-error').textContent(), /od godziny 09:30/);
  await page.close();

  // 10:05: too late for 10:00: cancelled, and what to do instead.
  page = await at('2026-12-02T09:05:00Z', '48600100200', false);
  assert.match(await page.locator('.k-error').textContent(),
    /wizyta umówiona na godzinę 10:00 została anulowana\. Weź zwykły bilet/);
  await check(page, 'the phone keypad, too late');
  await page.screenshot({ path: join(SHOTS, 'kiosk-phone-late.png') });
  await page.close();
  await stop(server);
  rmSync(dir, { recursive: true, force: true });
});

test('closed queues greyed with why, and a refusal in plain words', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'okienko-kiosk-'));
  // Tuesday 1 December 2026, 18:00 in Warsaw: after Cieszyn's hours (CI-4).
  const server = await serverOn(dir, '2026-12-01T17:00:00Z');
  await pairKiosk(server, 'cieszyn');
  const page = await browser.context.newPage();
  await page.goto(`${server.base}/t/cieszyn/kiosk`);
  assert.equal(await page.locator('.k-closed').count(), 6);
  assert.equal(await page.locator('.k-queues button, .k-queues a').count(), 0, 'nothing to press');
  assert.match(await page.locator('.k-closed').first().textContent(), /Nieczynne\. Na dziś zakończono wydawanie biletów\./);
  await check(page, 'the start screen after hours');
  await page.screenshot({ path: join(SHOTS, 'kiosk-closed.png') });
  await page.getByRole('button', { name: 'Czytaj na głos' }).click();
  assert.match(await page.evaluate(() => window.__spoken.at(-1).text), /^Wybierz sprawę i weź bilet\. Na dziś zakończono wydawanie biletów\. /);

  // A walk-in asked for anyway (a form left from before closing time): what to do.
  await Promise.all([page.waitForNavigation(), page.evaluate(() => {
    const f = document.createElement('form');
    f.method = 'post';
    f.action = '/t/cieszyn/kiosk/bilet';
    for (const [name, value] of [['queue', 'M'], ['nonce', '00112233445566778899aabbccddeeff'], ['lang', 'uk']]) {
      const i = document.createElement('input');
      i.type = 'hidden';
      i.name = name;
      i.value = value;
      f.append(i);
    }
    document.body.append(f);
    f.submit();
  })]);
  assert.equal(await page.locator('html').getAttribute('lang'), 'uk');
  assert.equal(await page.locator('h1').textContent(), 'Не вдалося видати талон');
  assert.match(await page.locator('.k-error').textContent(), /На сьогодні видачу талонів завершено/);
  await check(page, 'the refusal screen');
  await expectBigTargets(page, 'the refusal screen');
  await page.close();
  await stop(server);
  rmSync(dir, { recursive: true, force: true });
});
