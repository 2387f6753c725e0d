// The citizens' booking pages (issue 13) in Chromium: a whole booking in each of the five
// cities without JavaScript and again with it, every page checked by axe-core (W-4) in the
// city's colours; the e-mails over real SMTP (an SMTP server this test starts); confirming
// (GD-7 by the e-mailed link, OP-7 by the code) and cancelling by the e-mailed link, whose
// page offers the visit as an .ics file; the Zielona Góra vehicle form's error states (ZG-4,
// ZG-13); the language switch; keyboard only; reflow at 320 CSS pixels (400% zoom, WCAG
// 1.4.10); no request leaves this machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { startServer } from './lib/server.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { launchBoth, stepOf, title } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { lastMessageTo, link } from './lib/mail.mjs';

let smtp;
let server;
let browsers;
let plain;
let scripted;
let attemptedPlain;
let attemptedScripted;

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ env: { SMTP_URL: smtp.url } });
  browsers = await launchBoth();
  ({ plain, scripted } = browsers);
  ({ plain: attemptedPlain, scripted: attemptedScripted } = browsers.attempted);
});

after(async () => {
  await browsers?.close();
  await server?.stop();
  await smtp?.stop();
});

const check = (page, what, ctx) =>
  expectAccessible(page, what, ctx === plain || ctx === plain.context ? scripted.context : undefined);

/**
 * Clicks a form's button and waits for the page it leads to (POST, redirect, GET): reading the
 * address right after the click could still see the page the form was on.
 */
async function submit(page, name) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name }).click()]);
}

/**
 * Books through the pages in `ctx` and returns the page at the confirmation step.
 * `a.service`: the service's label; `a.details`: labels → values of the city's questions;
 * `a.contact`: labels → values; `a.sms`: tick the SMS option; `a.each(page, step)`: called on
 * every page, the start and the confirmation included. The result's `chosen` is the hour
 * chosen: `start` (Unix seconds, the radio's value) and `time` (its label, in Warsaw).
 */
async function bookThroughPages(ctx, slug, a) {
  const page = await ctx.newPage();
  if (a.viewport) await page.setViewportSize(a.viewport);
  await page.goto(`${server.base}/t/${slug}/`);
  assert.equal(await title(page), 'Umów wizytę');
  await check(page, `${slug}: start`, ctx);
  await a.each?.(page, 'start');
  await page.getByRole('button', { name: 'Rozpocznij rezerwację' }).click();
  const seen = [];
  let chosen;
  for (let i = 0; i < 12; i++) {
    const step = stepOf(page);
    seen.push(step);
    await check(page, `${slug}: ${step}`, ctx);
    await a.each?.(page, step);
    switch (step) {
      case 'wydzial':
        await page.getByLabel(a.group, { exact: true }).check();
        break;
      case 'usluga':
        await page.getByLabel(a.service, { exact: true }).check();
        break;
      case 'dzien': {
        // The month view marks the free days; the plain list offers the same ones.
        const free = page.locator('table.month button.free');
        assert.ok((await free.count()) > 0, 'the month shows free days');
        assert.equal(await free.count(), await page.locator('ul.daylist button').count());
        // GD-13: cancelling ends the day before, so a later day than the first.
        await page.locator('ul.daylist button').nth(a.dayIndex ?? 0).click();
        continue;
      }
      case 'godzina': {
        assert.match(await page.locator('main').textContent(), /czasie polskim/);
        const radio = page.locator('input[name=start]').first();
        chosen = {
          start: Number(await radio.getAttribute('value')),
          time: (await page.locator(`label[for="${await radio.getAttribute('id')}"]`).textContent()).trim(),
        };
        await radio.check();
        break;
      }
      case 'sprawa':
        for (const [label, value] of Object.entries(a.details ?? {})) {
          await page.getByLabel(label).fill(value);
        }
        break;
      case 'kontakt':
        for (const [label, value] of Object.entries(a.contact)) {
          await page.getByLabel(label).fill(value);
        }
        if (a.sms !== undefined && a.sms) await page.getByLabel(/SMS/).check();
        break;
      case 'sprawdz':
        assert.equal(await title(page), 'Sprawdź dane przed wysłaniem');
        assert.ok((await page.getByRole('link', { name: /^Zmień/ }).count()) >= 3);
        break;
      case 'zgody':
        for (const box of await page.locator('input[type=checkbox]').all()) await box.check();
        await page.getByRole('button', { name: 'Zarezerwuj wizytę' }).click();
        continue;
      case 'gotowe':
        return { page, seen, chosen };
      default:
        throw new Error(`unexpected page ${page.url()}`);
    }
    await page.getByRole('button', { name: 'Dalej' }).click();
  }
  throw new Error(`the flow did not end: ${seen.join(' → ')}`);
}

async function codeOf(page) {
  return (await page.locator('.code').textContent()).trim();
}

/** An iCalendar file's VEVENT: its properties (lines unfolded, text unescaped) by name. */
function vevent(ics) {
  const lines = ics.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  const from = lines.indexOf('BEGIN:VEVENT');
  const to = lines.indexOf('END:VEVENT');
  assert.ok(lines[0] === 'BEGIN:VCALENDAR' && from > 0 && to > from, ics);
  const props = {};
  for (const l of lines.slice(from + 1, to)) {
    const m = /^([A-Z-]+)((?:;[^:]*)?):(.*)$/.exec(l);
    if (!m) continue;
    const value = m[3].replace(/\\([\\;,nN])/g, (_, c) => (c === 'n' || c === 'N' ? '\n' : c));
    props[m[1]] = { params: m[2], value };
  }
  return props;
}

/** `20261202T063000Z` (UTC) or, with TZID=Europe/Warsaw, `20261202T073000` as a Date. */
function icsInstant({ params, value }) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/.exec(value);
  assert.ok(m, value);
  const [, y, mo, d, h, mi, sec, z] = m;
  if (z) return new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  assert.equal(params, ';TZID=Europe/Warsaw', `a floating or foreign time: ${params}:${value}`);
  return { warsaw: `${y}-${mo}-${d} ${h}:${mi}` };
}

const warsaw = (date) => new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Warsaw', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
}).format(date);

/**
 * The booking page's calendar file: followed in the browser as a download, it is the visit
 * (DTSTART the chosen hour, in Warsaw), named after the service, at the office's address; the
 * server answers it as text/calendar.
 */
async function checkCalendar(page, visit) {
  const anchor = page.getByRole('link', { name: /do kalendarza/ });
  const href = new URL(await anchor.getAttribute('href'), page.url()).href;
  const [download] = await Promise.all([page.waitForEvent('download'), anchor.click()]);
  assert.equal(download.url(), href);
  assert.match(download.suggestedFilename(), /^wizyta-[A-Z0-9]+\.ics$/);
  const file = readFileSync(await download.path(), 'utf8');
  const answer = await page.context().request.get(href);
  assert.equal(answer.status(), 200);
  assert.equal(answer.headers()['content-type'], 'text/calendar; charset=utf-8');
  const ev = vevent(file);
  const start = icsInstant(ev.DTSTART);
  const local = start instanceof Date ? warsaw(start) : start.warsaw;
  if (start instanceof Date) assert.equal(start.getTime(), visit.chosen.start * 1000, ev.DTSTART.value);
  assert.equal(local, warsaw(new Date(visit.chosen.start * 1000)));
  assert.equal(local.slice(11), visit.chosen.time, 'the hour chosen, in Warsaw');
  assert.match(await page.locator('main').textContent(), new RegExp(`Godzina\\s*${visit.chosen.time}`));
  assert.ok(ev.SUMMARY.value.includes(visit.service), `SUMMARY ${ev.SUMMARY.value} names ${visit.service}`);
  assert.ok(ev.LOCATION.value.includes(visit.address), `LOCATION ${ev.LOCATION.value} has ${visit.address}`);
  assert.equal(ev.URL?.value, page.url(), 'the file links back to the booking page');
}

/** The office address of the city's service named `name`, from the public API. */
async function addressOf(slug, name) {
  const v = await server.gql(`/t/${slug}/graphql`, '{ services { name office { address } } }');
  return v.data.services.find((s) => s.name === name).office.address;
}

async function cancelThroughPages(ctx, url, what, visit) {
  const page = await ctx.newPage();
  await page.goto(url);
  assert.equal(await title(page), 'Twoja rezerwacja');
  await check(page, `${what}: booking page`, ctx);
  if (visit) await checkCalendar(page, visit);
  await page.getByRole('button', { name: 'Anuluj rezerwację' }).click();
  assert.equal(await title(page), 'Anulowanie rezerwacji');
  await page.getByRole('button', { name: 'Tak, anuluj rezerwację' }).click();
  assert.equal(await title(page), 'Rezerwacja anulowana');
  await check(page, `${what}: cancelled`, ctx);
  await page.close();
}

const CITIES = [
  {
    slug: 'zielona-gora',
    service: 'Rejestracja pojazdu nowego, sprowadzonego lub zakupionego na terytorium RP',
    details: {
      'Numer rejestracyjny pojazdu': 'FZ 4821K',
      'Imię i nazwisko lub nazwa właściciela pojazdu': 'Jan Kowalski',
    },
    contact: { 'Imię i nazwisko': 'Jan Kowalski', 'Adres e-mail': 'EMAIL', 'Numer telefonu': '601 234 567' },
  },
  {
    slug: 'gdynia',
    group: 'Wydział Spraw Obywatelskich',
    service: 'Zameldowanie i wymeldowanie',
    dayIndex: 2,
    contact: { 'Imię i nazwisko': 'Anna Nowak', 'Adres e-mail': 'EMAIL' },
  },
  {
    slug: 'opole',
    service: 'Odbiór nowego dowodu osobistego',
    details: { 'Numer wniosku o wydanie dowodu osobistego': 'DO/123456/2026' },
    contact: { 'Imię i nazwisko': 'Ewa Wiśniewska', 'Adres e-mail': 'EMAIL' },
  },
  {
    slug: 'dabrowa-gornicza',
    group: null,
    service: null,
    contact: { 'Imię i nazwisko': 'Piotr Zieliński', 'Adres e-mail': 'EMAIL', 'Numer telefonu': '601 765 432' },
  },
  {
    slug: 'cieszyn',
    group: null,
    service: 'Meldunek',
    contact: { 'Adres e-mail': 'EMAIL' },
  },
];

for (const js of [false, true]) {
  for (const city of CITIES) {
    test(`${city.slug}: a whole booking ${js ? 'with' : 'without'} JavaScript, confirmed and cancelled by e-mail`, async () => {
      const ctx = js ? scripted.context : plain.context;
      const email = `${city.slug}.${js ? 'js' : 'plain'}@example.pl`;
      const a = { ...city, contact: Object.fromEntries(Object.entries(city.contact).map(([k, v]) => [k, v === 'EMAIL' ? email : v])) };
      if (a.group === null || a.service === null) {
        // The city's first group and service, whatever they are named.
        const first = await server.gql(`/t/${city.slug}/graphql`, '{ services { name bookable department { name } } }');
        const svc = first.data.services.find((s) => s.bookable && (!city.service || s.name === city.service));
        a.service = a.service ?? svc.name;
        a.group = svc.department?.name;
      }
      const { page, seen, chosen } = await bookThroughPages(ctx, city.slug, a);
      assert.ok(seen.includes('sprawdz') && seen.includes('zgody'), seen.join(' → '));
      const code = await codeOf(page);
      assert.ok(code.length >= 4, code);
      await check(page, `${city.slug}: confirmation`, ctx);
      // Delivered over SMTP: a text and an HTML alternative of one content.
      const first = await lastMessageTo(smtp, email, 1);
      assert.match(first.structure, /^(multipart\/mixed\()?multipart\/alternative\(text\/plain,text\/html\)/);
      assert.ok(first.text.includes(code), `the e-mail carries the code ${code}`);
      assert.ok(first.html.includes(code), `the HTML part carries the code ${code}`);
      if (city.slug === 'gdynia') {
        assert.equal(await title(page), 'Rezerwacja wstępna');
        assert.match(await page.locator('main').textContent(), /60 minut/);
        const confirm = await ctx.newPage();
        assert.ok(first.html.includes(`href="${link(first, 'Potwierdź rezerwację')}"`), first.html);
        await confirm.goto(link(first, 'Potwierdź rezerwację'));
        await confirm.getByRole('button', { name: 'Potwierdź rezerwację' }).click();
        assert.equal(await title(confirm), 'Rezerwacja potwierdzona');
        await confirm.close();
      } else if (city.slug === 'opole') {
        assert.equal(await title(page), 'Rezerwacja wstępna');
        const sent = first.text.match(/Kod potwierdzenia: (\S+)/)[1];
        await page.getByLabel('Kod z wiadomości').fill('000000' === sent ? '111111' : '000000');
        await page.getByRole('button', { name: 'Potwierdź rezerwację' }).click();
        assert.match(await page.title(), /^Błąd: /);
        await check(page, 'opole: wrong code', ctx);
        await page.getByLabel('Kod z wiadomości').fill(sent);
        await page.getByRole('button', { name: 'Potwierdź rezerwację' }).click();
        assert.equal(await title(page), 'Wizyta zarezerwowana');
      } else {
        assert.equal(await title(page), 'Wizyta zarezerwowana');
      }
      const confirmed = await lastMessageTo(smtp, email, city.slug === 'gdynia' || city.slug === 'opole' ? 2 : 1);
      assert.match(confirmed.subject, /^Potwierdzenie wizyty /);
      // The calendar entry beside the two alternatives (multipart/mixed).
      assert.equal(confirmed.structure, 'multipart/mixed(multipart/alternative(text/plain,text/html),text/calendar)');
      assert.equal(confirmed.parts[2].filename, 'wizyta.ics');
      const cancel = link(confirmed, 'Link do anulowania terminu');
      assert.ok(confirmed.html.includes(`href="${cancel}"`), confirmed.html);
      assert.equal(vevent(confirmed.ics).URL.value, cancel);
      const visit = { chosen, service: a.service, address: await addressOf(city.slug, a.service) };
      await cancelThroughPages(ctx, cancel, city.slug, visit);
      await page.close();
    });
  }
}

test('Zielona Góra: every error state of the vehicle form, nothing typed lost', async () => {
  const ctx = plain.context;
  const page = await ctx.newPage();
  await page.goto(`${server.base}/t/zielona-gora/`);
  await page.getByRole('button', { name: 'Rozpocznij rezerwację' }).click();
  await page.getByLabel(CITIES[0].service, { exact: true }).check();
  await submit(page, 'Dalej');
  await Promise.all([page.waitForNavigation(), page.locator('ul.daylist button').first().click()]);
  await page.locator('input[name=start]').first().check();
  await submit(page, 'Dalej');
  assert.equal(stepOf(page), 'sprawa');

  // Nothing typed: the owner is required.
  await submit(page, 'Dalej');
  assert.match(await page.title(), /^Błąd: /);
  assert.equal(await page.locator('.error-summary a').first().getAttribute('href'), '#f-owner_name');
  await check(page, 'ZG: owner missing', ctx);
  // A malformed VIN tail and registration number, at their fields.
  await page.getByLabel('Imię i nazwisko lub nazwa właściciela pojazdu').fill('Jan Kowalski');
  await page.getByLabel('Numer rejestracyjny pojazdu').fill('1');
  await page.getByLabel('5 ostatnich znaków numeru VIN').fill('12');
  await submit(page, 'Dalej');
  assert.match(await page.title(), /^Błąd: /);
  assert.equal(await page.locator('.error-summary li').count(), 2);
  assert.equal(await page.getByLabel('Imię i nazwisko lub nazwa właściciela pojazdu').inputValue(), 'Jan Kowalski');
  await check(page, 'ZG: malformed vehicle ids', ctx);

  // Refusals of the city's policy come after submitting and are shown at their field.
  const refusals = [
    [{ reg: '', vin: '' }, 'f-registration_number', /numer rejestracyjny pojazdu albo 5 ostatnich znaków/],
    [{ reg: 'FZ 00000', vin: '' }, 'f-registration_number', /fikcyjny/],
    [{ reg: '', vin: '00000' }, 'f-vin_tail', /fikcyjne/],
    [{ reg: '', vin: 'AB1O2' }, 'f-vin_tail', /nie zawiera liter I, O ani Q/],
  ];
  let contactDone = false;
  for (const [{ reg, vin }, field, message] of refusals) {
    if (stepOf(page) !== 'sprawa') await page.goto(`${server.base}/t/zielona-gora/wizyta/sprawa`);
    await page.getByLabel('Numer rejestracyjny pojazdu').fill(reg);
    await page.getByLabel('5 ostatnich znaków numeru VIN').fill(vin);
    await submit(page, 'Dalej');
    if (stepOf(page) === 'sprawa') {
      // Refused by the field check already.
      assert.equal(await page.locator(`#${field}-error`).count(), 1, `${reg}/${vin}`);
      assert.match(await page.locator(`#${field}-error`).textContent(), message);
      continue;
    }
    if (!contactDone) {
      await page.getByLabel('Imię i nazwisko').fill('Jan Kowalski');
      await page.getByLabel('Adres e-mail').fill('zg.errors@example.pl');
      await page.getByLabel('Numer telefonu').fill('601 234 567');
      await submit(page, 'Dalej');
      contactDone = true;
    }
    while (stepOf(page) !== 'zgody') await submit(page, 'Dalej');
    for (const box of await page.locator('input[type=checkbox]').all()) await box.check();
    await submit(page, 'Zarezerwuj wizytę');
    assert.equal(stepOf(page), 'sprawa', `${reg}/${vin}`);
    assert.match(await page.title(), /^Błąd: /);
    assert.equal(await page.locator('.error-summary a').first().getAttribute('href'), `#${field}`);
    assert.match(await page.locator(`#${field}-error`).textContent(), message);
    await check(page, `ZG: refused ${reg}/${vin}`, ctx);
  }

  // Contact errors: e-mail and phone both required (ZG-4), a malformed e-mail.
  await page.getByLabel('Numer rejestracyjny pojazdu').fill('FZ 4821K');
  await page.getByLabel('5 ostatnich znaków numeru VIN').fill('');
  await submit(page, 'Dalej');
  assert.equal(stepOf(page), 'kontakt');
  await page.getByLabel('Adres e-mail').fill('nie-email');
  await page.getByLabel('Numer telefonu').fill('');
  await submit(page, 'Dalej');
  assert.match(await page.title(), /^Błąd: /);
  assert.equal(await page.locator('.error-summary li').count(), 2);
  assert.equal(await page.getByLabel('Adres e-mail').inputValue(), 'nie-email');
  await check(page, 'ZG: contact errors', ctx);

  // Consents not ticked.
  await page.getByLabel('Adres e-mail').fill('zg.errors@example.pl');
  await page.getByLabel('Numer telefonu').fill('601 234 567');
  await submit(page, 'Dalej');
  await page.goto(`${server.base}/t/zielona-gora/wizyta/zgody`);
  // What was ticked before is still ticked; untick it all.
  for (const box of await page.locator('input[type=checkbox]').all()) {
    assert.ok(await box.isChecked());
    await box.uncheck();
  }
  await submit(page, 'Zarezerwuj wizytę');
  assert.match(await page.title(), /^Błąd: /);
  assert.equal(await page.locator('.error-summary li').count(), 3);
  await check(page, 'ZG: consents missing', ctx);
  await page.close();
});

test('the language switch: English and Ukrainian, remembered, lang attribute right', async () => {
  const page = await plain.context.newPage();
  await page.goto(`${server.base}/t/cieszyn/`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'pl');
  await page.getByRole('link', { name: 'English' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(await title(page), 'Book a visit');
  await check(page, 'start in English', plain);
  await page.getByRole('button', { name: 'Start booking' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en', 'remembered in the cookie');
  await check(page, 'a question in English', plain);
  await page.getByRole('link', { name: 'Українська' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'uk');
  await check(page, 'a question in Ukrainian', plain);
  // The city's own texts stay Polish.
  assert.match(await page.locator('main').textContent(), /Urząd Stanu Cywilnego/);
  await page.getByRole('link', { name: 'Polski' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'pl');
  await page.close();
});

test('keyboard only: a booking in Cieszyn with the Tab, space and Enter keys', async () => {
  const page = await scripted.context.newPage();
  await page.goto(`${server.base}/t/cieszyn/`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Przejdź do treści');
  const tabTo = async (pred, what) => {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(pred)) return;
    }
    throw new Error(`Tab never reached ${what}`);
  };
  await tabTo(() => document.activeElement.textContent === 'Rozpocznij rezerwację', 'the start button');
  await page.keyboard.press('Enter');
  await page.waitForURL(/wydzial|usluga/);
  while (stepOf(page) !== 'dzien') {
    const before = page.url();
    await tabTo(() => document.activeElement.type === 'radio', 'a choice');
    await page.keyboard.press('Space');
    await tabTo(() => document.activeElement.textContent === 'Dalej', 'Dalej');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.href !== before);
  }
  await tabTo(() => document.activeElement.classList.contains('free'), 'a free day');
  await page.keyboard.press('Enter');
  await page.waitForURL(/godzina/);
  await tabTo(() => document.activeElement.type === 'radio', 'an hour');
  await page.keyboard.press('Space');
  await tabTo(() => document.activeElement.textContent === 'Dalej', 'Dalej');
  await page.keyboard.press('Enter');
  await page.waitForURL(/kontakt/);
  await tabTo(() => document.activeElement.type === 'email', 'the e-mail field');
  await page.keyboard.type('klawiatura@example.pl');
  await page.keyboard.press('Enter');
  await page.waitForURL(/sprawdz/);
  await tabTo(() => document.activeElement.textContent === 'Dalej', 'Dalej');
  await page.keyboard.press('Enter');
  await page.waitForURL(/zgody/);
  for (let n = await page.locator('input[type=checkbox]').count(); n > 0; n--) {
    await tabTo(() => document.activeElement.type === 'checkbox' && !document.activeElement.checked, 'a consent');
    await page.keyboard.press('Space');
  }
  await tabTo(() => document.activeElement.textContent === 'Zarezerwuj wizytę', 'the submit button');
  await page.keyboard.press('Enter');
  await page.waitForURL(/gotowe/);
  assert.equal(await title(page), 'Wizyta zarezerwowana');
  await page.close();
});

/**
 * WCAG 1.4.10: at 320 CSS pixels (a 1280 pixel wide window at 400% zoom) the page scrolls
 * only vertically and nothing is cut off at the sides: every box shown lies within the width,
 * and no box hides content by clipping it sideways. Visually hidden texts (`.vh`) and the skip
 * link until focused are off screen on purpose.
 */
async function expectReflow(page, what) {
  const r = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
      (el.classList.length ? `.${[...el.classList].join('.')}` : '') +
      (el.textContent.trim() ? ` "${el.textContent.trim().slice(0, 40)}"` : '');
    const bad = [];
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest('.vh') || (el.closest('.skip') && !el.closest('.skip').matches(':focus'))) continue;
      const cs = getComputedStyle(el);
      if (cs.display === 'none' || cs.visibility === 'hidden') continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      if (box.left < -1 || box.right > width + 1) {
        bad.push(`${name(el)} spans ${Math.round(box.left)}…${Math.round(box.right)} px`);
      }
      const clips = cs.overflowX !== 'visible';
      if (clips && !['INPUT', 'TEXTAREA'].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1) {
        bad.push(`${name(el)} cuts its content (${el.scrollWidth} > ${el.clientWidth} px)`);
      }
    }
    return { width, scrollWidth: document.documentElement.scrollWidth, bad };
  });
  assert.equal(r.width, 320, what);
  assert.ok(r.scrollWidth <= 320 + 1, `${what}: scrolls sideways (${r.scrollWidth} px wide) at ${page.url()}`);
  assert.deepEqual(r.bad, [], `${what}: off screen or cut at 320 px (${page.url()})`);
}

test('zoom to 400%: every page of a whole booking reflows at 320 CSS pixels', async () => {
  const ctx = scripted.context;
  const email = 'waski.ekran@example.pl';
  const viewport = { width: 320, height: 256 };
  const reached = [];
  const a = {
    ...CITIES[0],
    details: {
      'Numer rejestracyjny pojazdu': 'FZ 5937M',
      'Imię i nazwisko lub nazwa właściciela pojazdu': 'Maria Wąska-Szerokowska',
    },
    contact: { 'Imię i nazwisko': 'Maria Wąska-Szerokowska', 'Adres e-mail': email, 'Numer telefonu': '602 111 222' },
    viewport,
    async each(page, step) {
      reached.push(step);
      await expectReflow(page, `zielona-gora: ${step}`);
      if (step === 'dzien') await page.screenshot({ path: '/tmp/okienko-day-320.png', fullPage: true });
    },
  };
  const { page } = await bookThroughPages(ctx, 'zielona-gora', a);
  assert.deepEqual(reached, ['start', 'usluga', 'dzien', 'godzina', 'sprawa', 'kontakt', 'sprawdz', 'zgody', 'gotowe']);
  await page.close();

  const mail = await lastMessageTo(smtp, email, 1);
  const booking = await ctx.newPage();
  await booking.setViewportSize(viewport);
  await booking.goto(link(mail, 'Link do anulowania terminu'));
  assert.equal(await title(booking), 'Twoja rezerwacja');
  await expectReflow(booking, 'the booking page');
  await booking.getByRole('button', { name: 'Anuluj rezerwację' }).click();
  await expectReflow(booking, 'the cancel confirmation page');
  await booking.goto(`${server.base}/t/zielona-gora/deklaracja-dostepnosci`);
  assert.equal(await title(booking), 'Deklaracja dostępności');
  await expectReflow(booking, 'the accessibility statement');
  await booking.close();
});

test('the list of cities links to their sites, and no page asked for anything elsewhere', async () => {
  const page = await plain.context.newPage();
  await page.goto(`${server.base}/`);
  await check(page, 'the list of cities', plain);
  const hrefs = await page.locator('main a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(hrefs.sort(), ['/t/cieszyn/', '/t/dabrowa-gornicza/', '/t/gdynia/', '/t/opole/', '/t/zielona-gora/']);
  await page.goto(`${server.base}/t/gdynia/deklaracja-dostepnosci`);
  assert.equal(await title(page), 'Deklaracja dostępności');
  await check(page, 'the accessibility statement', plain);
  await page.close();
  assert.deepEqual(attemptedPlain, []);
  assert.deepEqual(attemptedScripted, []);
  // Every e-mail went over SMTP: the file backend wrote none.
  assert.ok(smtp.messages().length >= 10);
  assert.ok(!existsSync(server.mailDir), 'no .eml files beside SMTP');
});
