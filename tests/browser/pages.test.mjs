// The pages behind e-mailed links in Chromium without JavaScript (W-3), each state checked by
// axe-core (W-4): the link of the last e-mail received is followed and the visit cancelled
// through the pages (issue 10). The e-mails arrive over SMTP at a server this test starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { launch, offline } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { lastMailTo, link } from './lib/mail.mjs';

const CREATE = `mutation($i: CreateBookingInput!) { createBooking(input: $i) {
  managementToken booking { code status start } } }`;

let smtp;
let server;
let browser;
/** A context with JavaScript, where axe-core checks the pages' states. */
let scripted;

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ env: { SMTP_URL: smtp.url } });
  browser = await launch({ javaScriptEnabled: false });
  scripted = await launch();
  await offline(browser.context);
  await offline(scripted.context);
});

after(async () => {
  await browser?.close();
  await scripted?.close();
  await server?.stop();
  await smtp?.stop();
});

const check = (page, what) => expectAccessible(page, what, scripted.context);

async function serviceId(slug, key) {
  const v = await server.gql(`/t/${slug}/graphql`, '{ services { id key } }');
  return v.data.services.find((s) => s.key === key).id;
}

/** The first slot with a seat left on `day` (YYYY-MM-DD). */
async function firstSlot(slug, service, day) {
  const v = await server.gql(
    `/t/${slug}/graphql`,
    'query($s: ID!, $d: NaiveDate!) { availability(serviceId: $s, from: $d, to: $d) { slots { start remaining } } }',
    { s: service, d: day },
  );
  const slot = v.data.availability[0].slots.find((s) => s.remaining > 0);
  assert.ok(slot, JSON.stringify(v));
  return slot.start;
}

async function book(slug, input) {
  const v = await server.gql(`/t/${slug}/graphql`, CREATE, { i: input });
  assert.ok(v.data?.createBooking, JSON.stringify(v));
  return v.data.createBooking;
}

async function open(url, what) {
  const page = await browser.context.newPage();
  const r = await page.goto(url);
  await check(page, what);
  return { page, status: r.status() };
}

test('Gdynia: confirm by the link, then cancel by the link of the last e-mail', async () => {
  const service = await serviceId('gdynia', 'meldunek');
  const start = await firstSlot('gdynia', service, '2026-12-03');
  const email = 'anna.przegladarka@example.pl';
  await book('gdynia', {
    serviceId: service, start,
    client: { name: 'Anna Nowak', email },
    acceptedTermsVersion: '1.0', consents: ['rodo'],
  });

  const preliminary = await lastMailTo(smtp, email, 1);
  const { page } = await open(link(preliminary, 'Potwierdź rezerwację'), 'the confirmation page');
  assert.equal(await page.locator('h1').textContent(), 'Potwierdzenie rezerwacji');
  const shown = await page.locator('main').textContent();
  assert.match(shown, /Zameldowanie i wymeldowanie/);
  assert.match(shown, /03\.12\.2026/);
  assert.match(shown, /al\. Marsz\. Piłsudskiego 52\/54/);
  await page.getByRole('button', { name: 'Potwierdź rezerwację' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Rezerwacja potwierdzona');
  await check(page, 'the confirmed page');

  // The link again: no button for a confirmed booking.
  await page.goto(link(preliminary, 'Potwierdź rezerwację'));
  assert.equal(await page.locator('h1').textContent(), 'Rezerwacja jest już potwierdzona');
  assert.equal(await page.getByRole('button').count(), 0);
  await check(page, 'the page of an already confirmed link');
  await page.close();

  const confirmation = await lastMailTo(smtp, email, 2);
  assert.match(confirmation, /Potwierdzenie wizyty/);
  await cancelThroughPages(link(confirmation, 'Link do anulowania terminu'));
});

test('Opole: confirm by the code, then cancel by the link of the last e-mail', async () => {
  const service = await serviceId('opole', 'dowod-osobisty-odbior');
  const start = await firstSlot('opole', service, '2026-12-02');
  const email = 'ewa.przegladarka@example.pl';
  const created = await book('opole', {
    serviceId: service, start,
    client: { name: 'Ewa Wiśniewska', email },
    fields: [{ key: 'application_number', value: 'DO/123456/2026' }],
    acceptedTermsVersion: '1.0', consents: ['rodo', 'komunikacja_elektroniczna'],
  });
  const withCode = await lastMailTo(smtp, email, 1);
  const code = withCode.match(/Kod potwierdzenia: (\d{6})/)[1];
  const v = await server.gql('/t/opole/graphql',
    'mutation($t: String!, $c: String) { confirmBooking(token: $t, code: $c) { status } }',
    { t: created.managementToken, c: code });
  assert.equal(v.data.confirmBooking.status, 'CONFIRMED', JSON.stringify(v));
  const confirmation = await lastMailTo(smtp, email, 2);
  await cancelThroughPages(link(confirmation, 'Link do anulowania terminu'));
});

async function cancelThroughPages(url) {
  const { page } = await open(url, 'the booking page');
  assert.equal(await page.locator('h1').textContent(), 'Twoja rezerwacja');
  await page.getByRole('button', { name: 'Anuluj rezerwację' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Anulowanie rezerwacji');
  assert.match(await page.locator('main').textContent(), /Czy na pewno/);
  await check(page, 'the cancel confirmation page');
  await page.getByRole('button', { name: 'Tak, anuluj rezerwację' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Rezerwacja anulowana');
  await check(page, 'the cancelled page');
  await page.goto(url);
  assert.match(await page.locator('main').textContent(), /anulowana/);
  assert.equal(await page.getByRole('button').count(), 0, 'no cancel button any more');
  await page.close();
}

test('Gdynia: past the cutoff the page says until when and whom to phone', async () => {
  // GD-13: cancelling is possible until the day before; a visit today is past it.
  const service = await serviceId('gdynia', 'prawo-jazdy');
  const start = await firstSlot('gdynia', service, '2026-12-01');
  const created = await book('gdynia', {
    serviceId: service, start,
    client: { name: 'Jan Kowalski', email: 'jan.dzis@example.pl' },
    acceptedTermsVersion: '1.0', consents: ['rodo'],
  });
  const { page } = await open(`${server.base}/t/gdynia/rezerwacja/${created.managementToken}`, 'a booking past its cutoff');
  const text = await page.locator('main').textContent();
  assert.match(text, /można było anulować przez internet do końca dnia 30\.11\.2026/);
  assert.match(text, /58 626 26 26/);
  assert.equal(await page.getByRole('button').count(), 0);

  // W-1: the language switch on the page behind the link; the choice is kept for the next page.
  await page.getByRole('link', { name: 'English' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(await page.locator('h1').textContent(), 'Your booking');
  assert.match(await page.locator('main').textContent(), /could be cancelled online until the end of 30\.11\.2026/);
  await check(page, 'a booking past its cutoff, in English');
  await page.getByRole('link', { name: 'Українська' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'uk');
  assert.equal(await page.locator('h1').textContent(), 'Ваше бронювання');
  await check(page, 'a booking past its cutoff, in Ukrainian');
  await page.goto(`${server.base}/t/gdynia/rezerwacja/${created.managementToken}`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'uk', 'the language is remembered');
  await page.getByRole('link', { name: 'Polski' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Twoja rezerwacja');
  await page.close();
});

test('unknown links get a page that says so, without buttons', async () => {
  for (const [path, heading] of [
    ['/t/gdynia/potwierdz/nie-ma-takiego', 'Nieważny link'],
    ['/t/gdynia/rezerwacja/nie-ma-takiego', 'Nie udało się'],
  ]) {
    const { page, status } = await open(server.base + path, path);
    assert.equal(status, 404);
    assert.equal(await page.locator('h1').textContent(), heading);
    assert.equal(await page.getByRole('button').count(), 0);
    await page.close();
  }
});
