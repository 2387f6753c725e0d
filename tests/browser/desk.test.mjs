// The desk clerk's screen (issue 14 item 5, W-9) in Chromium: a walk-in ticket taken at the
// kiosk (its GraphQL API: the kiosk page is its own screen), called from the desk page, served
// and finished; the same without JavaScript, where the server refuses an early recall; the
// whole screen by keyboard alone, the focus on each action's result; a Cieszyn booking checked
// in and called first at its time (CI-18); three calls and the void after them (CI-8) with the
// recall button counting down on the browser's clock (page.clock), the server's clock moved by
// restarting it; the queues' figures read again by the page. axe-core on every state, reflow at
// 320 CSS pixels; nothing is fetched from beyond this machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { launch, offline } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { admin, staff, deviceToken, setCookie, STAFF_COOKIE } from './lib/office.mjs';

const SLUG = 'cieszyn';
const DESK = `/t/${SLUG}/stanowisko`;
const LOGIN = 'mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }';

let server;
let scripted;
let plain;
let keyboard;
const attempted = [];
let clerk;
let kiosk;

before(async () => {
  // No drain on shutdown: the tests restart the server to move its clock.
  server = await startServer({ env: { OKIENKO_SHUTDOWN_DRAIN_MS: '0' } });
  scripted = await launch();
  plain = await launch({ javaScriptEnabled: false });
  keyboard = await launch();
  for (const b of [scripted, plain, keyboard]) {
    b.context.setDefaultTimeout(15000);
    attempted.push(await offline(b.context));
  }
  const adm = await admin(server, SLUG);
  clerk = await staff(server, SLUG, adm.token, 'CLERK', 'Anna Urzędniczka');
  kiosk = await deviceToken(server, SLUG, adm.token, 'KIOSK');
  for (const b of [scripted, plain, keyboard]) await setCookie(b.context, server, STAFF_COOKIE, clerk.token);
});

after(async () => {
  await scripted?.close();
  await plain?.close();
  await keyboard?.close();
  await server?.stop();
});

async function gql(path, query, variables, token) {
  const v = await server.gql(path, query, variables, token);
  assert.equal(v.errors, undefined, JSON.stringify(v.errors));
  return v.data;
}

/** A walk-in ticket of `queue` from the kiosk's API: its number. */
async function walkIn(queue) {
  const d = await gql(`/t/${SLUG}/kiosk/graphql`, 'mutation($q: String!) { issueTicket(queue: $q) { number } }', { q: queue }, kiosk);
  return d.issueTicket.number;
}

/** Sessions last 8 hours of the server's clock: after a jump of a day the clerk logs in again. */
async function loginAgain() {
  clerk.token = (await gql(`/t/${SLUG}/admin/graphql`, LOGIN, { l: clerk.login, p: clerk.password })).login.token;
  for (const b of [scripted, plain, keyboard]) await setCookie(b.context, server, STAFF_COOKIE, clerk.token);
}

const check = (page, what, ctx) => expectAccessible(page, what, ctx === plain ? scripted.context : undefined);

async function shot(page, name) {
  if (process.env.OKIENKO_SCREENSHOTS) {
    await page.screenshot({ path: join(process.env.OKIENKO_SCREENSHOTS, `desk-${name}.png`), fullPage: true });
  }
}

/** Clicks the button `name` and waits for the page the form leads to (POST, 303, GET). */
async function press(page, name) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
}

const result = (page) => page.locator('#desk-result').textContent();
const focused = (page) => page.evaluate(() => document.activeElement?.id ?? '');

/** Opens the desk page in `ctx` and chooses desk `n` on the choice page it leads to. */
async function chooseDesk(ctx, n) {
  const page = await ctx.context.newPage();
  await page.goto(`${server.base}${DESK}`);
  assert.equal(new URL(page.url()).pathname, `${DESK}/wybor`);
  await check(page, 'the choice of desk', ctx);
  await page.getByLabel(`Stanowisko ${n}`, { exact: true }).check();
  await press(page, 'Wybierz stanowisko');
  assert.equal(new URL(page.url()).pathname, DESK);
  assert.equal(await page.locator('h1').textContent(), `Stanowisko ${n}`);
  return page;
}

test('no session: the desk sends to the login page and back', async () => {
  const ctx = await launch();
  try {
    await offline(ctx.context);
    const page = await ctx.context.newPage();
    await page.goto(`${server.base}${DESK}`);
    const url = new URL(page.url());
    assert.equal(url.pathname, `/t/${SLUG}/personel/logowanie`);
    assert.equal(url.searchParams.get('next'), DESK);
  } finally {
    await ctx.close();
  }
});

test('a walk-in called from the desk page, served and finished (axe on every state)', async () => {
  assert.equal(await walkIn('M'), 'M001');
  const page = await chooseDesk(scripted, 3);
  assert.equal(await result(page), 'Wybrano stanowisko.');
  assert.equal(await focused(page), 'desk-result');
  await page.getByText('Następny do wywołania: M001.').waitFor();
  assert.match(await page.locator('.desk-table tbody tr').first().textContent(), /M – Meldunek\s*1/);
  await check(page, 'an idle desk', scripted);
  await shot(page, 'idle');

  await press(page, 'Wywołaj następny numer');
  assert.equal(await result(page), 'Wywołano numer M001.');
  assert.equal(await focused(page), 'desk-result');
  assert.equal(await page.locator('.desk-number').textContent(), 'Numer: M001');
  // CI-8: the recall waits 10 minutes, counted down by the page.
  assert.equal(await page.locator('#desk-recall').isDisabled(), true);
  assert.match(await page.locator('#desk-recall-hint').textContent(), /możliwe o 09:10\. Pozostało: (10:00|9:\d\d)/);
  await check(page, 'a called ticket', scripted);
  await shot(page, 'called');
  // Reflow at 320 CSS pixels (400% zoom, WCAG 1.4.10): nothing scrolls sideways.
  await page.setViewportSize({ width: 320, height: 800 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 320);
  await shot(page, 'called-320');
  await page.setViewportSize({ width: 1280, height: 900 });

  // A refusal without a reason: the error summary takes the focus, the field says why.
  await press(page, 'Odmów obsługi');
  assert.match(await page.title(), /^Błąd: Stanowisko 3/);
  assert.equal(await focused(page), 'error-summary');
  assert.equal(await page.locator('#desk-reason-error').textContent(), 'Błąd: Wybierz powód odmowy obsługi.');
  await check(page, 'a refusal without a reason', scripted);
  await shot(page, 'refusal-error');

  await press(page, 'Rozpocznij obsługę');
  assert.equal(await result(page), 'Rozpoczęto obsługę numeru M001.');
  assert.equal(await page.getByRole('button', { name: 'Wywołaj ponownie' }).count(), 0);
  await check(page, 'a ticket being served', scripted);
  await shot(page, 'serving');

  await press(page, 'Zakończ obsługę');
  assert.equal(await result(page), 'Zakończono obsługę numeru M001.');
  await press(page, 'Wywołaj następny numer');
  assert.equal(await result(page), 'Nikt nie czeka w kolejkach tego stanowiska.');
  assert.equal(await focused(page), 'desk-result');
  await check(page, 'nobody waiting', scripted);
  await page.close();
});

test('without JavaScript: every action is a form; an early recall is refused by the server', async () => {
  assert.equal(await walkIn('D'), 'D001');
  const page = await chooseDesk(plain, 4);
  await press(page, 'Wywołaj następny numer');
  assert.equal(await result(page), 'Wywołano numer D001.');
  // Without the script the button stays enabled; the page says from when, the server refuses.
  assert.equal(await page.locator('#desk-recall').isDisabled(), false);
  assert.match(await page.locator('#desk-recall-hint').textContent(), /Ponowne wywołanie będzie możliwe o 09:1\d\./);
  await press(page, 'Wywołaj ponownie');
  assert.match(await page.locator('#error-summary').textContent(), /Ponowne wywołanie jest możliwe od godziny 09:1\d \(co najmniej 10 minut od poprzedniego\)/);
  await check(page, 'an early recall refused, without JavaScript', plain);
  await shot(page, 'recall-too-soon-no-js');
  await press(page, 'Rozpocznij obsługę');
  await press(page, 'Zakończ obsługę');
  assert.equal(await result(page), 'Zakończono obsługę numeru D001.');
  await page.close();
});

/** Presses Tab until the element with `id` has the focus. */
async function tabTo(page, id) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if (await focused(page) === id) return;
  }
  throw new Error(`#${id} not reached with Tab`);
}

/** Enter on the focused button, then the page it leads to. */
async function enter(page) {
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

test('keyboard only: choose the desk, call, transfer, call again, serve; the focus on each result', async () => {
  assert.equal(await walkIn('A'), 'A001');
  const page = await keyboard.context.newPage();
  await page.goto(`${server.base}${DESK}/wybor`);
  await tabTo(page, `stanowisko-${await deskValue(page, 1)}`);
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Wybierz stanowisko');
  await enter(page);
  assert.equal(await page.locator('h1').textContent(), 'Stanowisko 1');
  assert.equal(await focused(page), 'desk-result');

  await tabTo(page, 'desk-call');
  await enter(page);
  assert.equal(await result(page), 'Wywołano numer A001.');
  assert.equal(await focused(page), 'desk-result');
  // The transfer's select by arrow keys: its first queue (B, the office's next after A).
  await tabTo(page, 'desk-transfer-to');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator('#desk-transfer-to').inputValue(), 'B');
  await page.keyboard.press('Tab');
  await enter(page);
  assert.match(await result(page), /^Numer A001 przekazano do kolejki B – /);
  assert.equal(await focused(page), 'desk-result');

  await tabTo(page, 'desk-call');
  await enter(page);
  assert.equal(await result(page), 'Wywołano numer A001.');
  assert.match(await page.locator('.desk-ticket').textContent(), /KolejkaB – /);
  await tabTo(page, 'desk-start');
  await enter(page);
  assert.equal(await result(page), 'Rozpoczęto obsługę numeru A001.');
  await tabTo(page, 'desk-finish');
  await enter(page);
  assert.equal(await result(page), 'Zakończono obsługę numeru A001.');
  assert.equal(await focused(page), 'desk-result');
  await check(page, 'the desk after keyboard work', keyboard);
  await page.close();
});

/** The choice page's value of desk `n` ("{office id}-{n}"). */
async function deskValue(page, n) {
  const id = await page.getByLabel(`Stanowisko ${n}`, { exact: true }).getAttribute('id');
  return id.replace(/^stanowisko-/, '');
}

let recallPage;

test('CI-18: a checked-in booking is called first at its time, with its data to compare', async () => {
  const services = await gql(`/t/${SLUG}/graphql`, '{ services { id key } }', {});
  const meldunek = services.services.find((s) => s.key === 'meldunek').id;
  // Wednesday 2 December 2026, 09:00 in Warsaw.
  const made = await gql(`/t/${SLUG}/graphql`,
    'mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { code } } }',
    { i: { serviceId: meldunek, start: '2026-12-02T08:00:00Z', client: { email: 'ola@example.pl' }, acceptedTermsVersion: '1.0', consents: ['klauzula_informacyjna', 'rodo'] } });
  const code = made.createBooking.booking.code;

  // 08:05: two walk-ins, then the booked client checks in (CI-16: from 08:00).
  await server.restart({ now: '2026-12-02T07:05:00Z' });
  await loginAgain();
  assert.equal(await walkIn('M'), 'M001');
  assert.equal(await walkIn('M'), 'M002');
  const t = await gql(`/t/${SLUG}/kiosk/graphql`, 'mutation($c: String!) { checkIn(code: $c) { number } }', { c: code }, kiosk);
  assert.equal(t.checkIn.number, 'M003');
  const page = await scripted.context.newPage();
  await page.goto(`${server.base}${DESK}`);
  // Before its time the booked client waits for the walk-ins who came first (CI-19 only
  // when nobody else waits).
  await page.getByText('Następny do wywołania: M001.').waitFor();
  assert.match(await page.locator('.desk-table tbody tr').first().textContent(), /M – Meldunek\s*3/);

  // 09:00: the booked client goes first (CI-18, CI-20).
  await server.restart({ now: '2026-12-02T08:00:00Z' });
  await page.reload();
  await page.getByText('Następny do wywołania: M003.').waitFor();
  await press(page, 'Wywołaj następny numer');
  assert.equal(await result(page), 'Wywołano numer M003.');
  const booking = await page.locator('.desk-booking').textContent();
  for (const part of [`Kod rezerwacji${code}`, 'SprawaMeldunek', 'Godzina wizyty09:00']) {
    assert.ok(booking.includes(part), `${part} in ${booking}`);
  }
  assert.ok(!booking.includes('ola@example.pl'), booking);
  assert.match(await page.locator('.desk-ticket dl').first().textContent(), /Rodzajwizyta zarezerwowana/);
  await check(page, 'a booked visit called', scripted);
  await shot(page, 'booked');
  await press(page, 'Rozpocznij obsługę');
  await press(page, 'Zakończ obsługę');
  assert.equal(await result(page), 'Zakończono obsługę numeru M003.');
  await page.close();

  // The recall walk below counts on the browser's clock from the next call on.
  recallPage = await scripted.context.newPage();
  await recallPage.clock.install({ time: new Date('2026-12-02T08:00:30Z') });
  await recallPage.goto(`${server.base}${DESK}`);
  await press(recallPage, 'Wywołaj następny numer');
  assert.equal(await result(recallPage), 'Wywołano numer M001.');
});

test('CI-8: three calls, each allowed 10 minutes after the last, then the void', async () => {
  assert.ok(recallPage, 'the booked visit test called M001');
  const page = recallPage;
  const button = page.locator('#desk-recall');
  const hint = page.locator('#desk-recall-hint');
  assert.equal(await button.isDisabled(), true);
  assert.match(await page.locator('#desk-countdown').textContent(), /^(10:00|9:\d\d)$/);
  // Half way: still disabled, counting.
  await page.clock.fastForward('05:00');
  assert.equal(await button.isDisabled(), true);
  assert.match(await page.locator('#desk-countdown').textContent(), /^[45]:\d\d$/);
  await shot(page, 'recall-countdown');
  await page.clock.fastForward('05:00');
  assert.equal(await button.isDisabled(), false);
  assert.equal(await hint.textContent(), 'Można wywołać ponownie.');
  await check(page, 'the recall allowed', scripted);

  for (const [now, count] of [['2026-12-02T08:11:00Z', 2], ['2026-12-02T08:22:00Z', 3]]) {
    await server.restart({ now });
    await press(page, 'Wywołaj ponownie');
    assert.equal(await result(page), `Ponownie wywołano numer M001 (${count}. wywołanie).`);
    assert.equal(await focused(page), 'desk-result');
    assert.equal(await button.isDisabled(), true);
    await page.clock.fastForward('10:00');
    assert.equal(await button.isDisabled(), false);
  }
  assert.equal(await hint.textContent(), 'Klient nie podszedł po 3 wywołaniach: kolejne naciśnięcie unieważni bilet.');
  await check(page, 'the last call unanswered', scripted);
  await shot(page, 'recall-voids');

  await server.restart({ now: '2026-12-02T08:33:00Z' });
  await press(page, 'Wywołaj ponownie');
  assert.equal(await result(page), 'Bilet M001 jest nieważny: klient nie podszedł po wywołaniach.');
  assert.equal(await page.getByText('Stanowisko nie ma wywołanego numeru.').count(), 1);
  await check(page, 'the ticket void', scripted);
  await shot(page, 'void');

  // The queues' figures are read again every 20 seconds of the page's clock: a walk-in taken
  // meanwhile is counted without reloading the page.
  const dRow = page.locator('.desk-table tbody tr').nth(1);
  assert.match(await dRow.textContent(), /D – Dowody osobiste\s*0/);
  assert.equal(await walkIn('D'), 'D001');
  await page.clock.fastForward('00:20');
  let text = '';
  for (let i = 0; i < 100 && !/osobiste\s*1/.test(text); i++) {
    // Waiting for the page's fetch to come back, not for a timer.
    await new Promise((r) => setTimeout(r, 50));
    text = await dRow.textContent();
  }
  assert.match(text, /D – Dowody osobiste\s*1/);
  assert.equal(await result(page), 'Bilet M001 jest nieważny: klient nie podszedł po wywołaniach.');
  await page.close();
});

test('nothing was fetched from beyond this machine', () => {
  assert.deepEqual(attempted.flat(), []);
});
