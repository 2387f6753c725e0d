// Gdynia's resident card (GD-5) in Chromium without JavaScript: "Zaloguj się Kartą Mieszkańca"
// on the contact page runs the OpenID Connect login against the test's own provider
// (lib/oidc.mjs: PKCE, state and nonce are the server's to check), comes back to the same page
// of the same booking, which then shows the card's name, e-mail and phone instead of asking for
// them; the check page shows them, the booking is made; "use other data" brings the fields
// back. axe-core on the contact page before and after the login and on the check page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, NOW } from './lib/server.mjs';
import { launchBoth, stepOf, title } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { startProvider } from './lib/oidc.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLAIMS = {
  sub: 'km-browser-1',
  name: 'Anna Mieszkańska',
  email: 'anna.mieszkanska@example.pl',
  email_verified: true,
  phone_number: '+48 601 222 333',
};

let idp;
let server;
let policies;
let browsers;
let plain;
let scripted;
let attempted;

before(async () => {
  const start = Date.parse(NOW) / 1000;
  const t0 = Date.now();
  idp = await startProvider({
    clientId: 'okienko-gdynia',
    clientSecret: 'browser-oidc-secret',
    claims: CLAIMS,
    // The server runs on a dev clock from NOW at the real pace.
    now: () => Math.floor(start + (Date.now() - t0) / 1000),
  });
  // The shipped cities, Gdynia's provider being this test's.
  policies = mkdtempSync(join(tmpdir(), 'okienko-policies-'));
  cpSync(join(repo, 'policies'), policies, { recursive: true });
  const toml = join(policies, 'gdynia', 'tenant.toml');
  const text = readFileSync(toml, 'utf8');
  const old = '[oidc]\nissuer = "https://konto.gdynia.pl"';
  assert.ok(text.includes(old), "Gdynia's [oidc] table");
  writeFileSync(toml, text.replace(old, `[oidc]\nissuer = "${idp.issuer}"`));
  server = await startServer({
    env: { OKIENKO_POLICIES: policies, OKIENKO_OIDC_SECRET_GDYNIA: 'browser-oidc-secret' },
  });
  idp.allowRedirect(`${server.base}/t/gdynia/logowanie/powrot`);
  browsers = await launchBoth();
  ({ plain, scripted } = browsers);
  attempted = browsers.attempted.plain;
});

after(async () => {
  await browsers?.close();
  await server?.stop();
  await idp?.stop();
  if (policies) rmSync(policies, { recursive: true, force: true });
});

const check = (page, what) => expectAccessible(page, what, scripted.context);

/** From Gdynia's start page to its contact page, JavaScript off. */
async function toContact(page) {
  await page.goto(`${server.base}/t/gdynia/`);
  await page.getByRole('button', { name: 'Rozpocznij rezerwację' }).click();
  await page.getByLabel('Wydział Spraw Obywatelskich', { exact: true }).check();
  await page.getByRole('button', { name: 'Dalej' }).click();
  await page.getByLabel('Zameldowanie i wymeldowanie', { exact: true }).check();
  await page.getByRole('button', { name: 'Dalej' }).click();
  // GD-13: a later day than the first, so that the booking could still be cancelled.
  await page.locator('ul.daylist button').nth(2).click();
  await page.locator('input[name=start]').first().check();
  await page.getByRole('button', { name: 'Dalej' }).click();
  assert.equal(stepOf(page), 'kontakt');
}

test('Gdynia: booked through the resident-card login, JavaScript off', async () => {
  const page = await plain.context.newPage();
  await toContact(page);
  const contactUrl = page.url();
  assert.equal(await title(page), 'Twoje dane kontaktowe');
  await check(page, 'gdynia: contact page with the login offered');
  const login = page.getByRole('link', { name: 'Zaloguj się Kartą Mieszkańca' });
  assert.equal(await login.count(), 1);

  // To the provider and back to the same page of the same booking.
  await login.click();
  assert.equal(page.url(), contactUrl);
  assert.equal(idp.counts.authorize, 1);
  assert.equal(idp.counts.token, 1);
  const main = page.locator('main');
  for (const shown of [CLAIMS.name, CLAIMS.email, CLAIMS.phone_number]) {
    assert.ok((await main.textContent()).includes(shown), `${shown} shown`);
  }
  // Shown, not typed: no fields for what the card gives.
  assert.equal(await page.locator('input[name=f-name], input[name=f-email], input[name=f-phone]').count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Zaloguj się Kartą Mieszkańca' }).count(), 0);
  assert.doesNotMatch(await main.textContent(), /GD-\d/);
  await check(page, 'gdynia: contact page after the login');

  await page.getByRole('button', { name: 'Dalej' }).click();
  assert.equal(stepOf(page), 'sprawdz');
  assert.equal(await title(page), 'Sprawdź dane przed wysłaniem');
  for (const shown of [CLAIMS.name, CLAIMS.email, CLAIMS.phone_number]) {
    assert.ok((await main.textContent()).includes(shown), `${shown} on the check page`);
  }
  await check(page, 'gdynia: check page with the card data');
  await page.getByRole('button', { name: 'Dalej' }).click();
  assert.equal(stepOf(page), 'zgody');
  for (const box of await page.locator('input[type=checkbox]').all()) await box.check();
  await page.getByRole('button', { name: 'Zarezerwuj wizytę' }).click();
  assert.equal(stepOf(page), 'gotowe');
  // GD-7: preliminary until the e-mailed link is followed.
  assert.equal(await title(page), 'Rezerwacja wstępna');
  assert.match(await main.textContent(), /60 minut/);
  assert.match((await page.locator('.code').textContent()).trim(), /^\S+$/);
  await check(page, 'gdynia: confirmation after the login');
  await page.close();
});

test('Gdynia: "use other data" forgets the login and asks again', async () => {
  const page = await plain.context.newPage();
  await toContact(page);
  // The identity is still there from the first test (the same browser, within its 30 minutes).
  assert.equal(await page.locator('input[name=f-name]').count(), 0);
  await page.getByRole('button', { name: 'Wyloguj się i podaj inne dane' }).click();
  assert.equal(stepOf(page), 'kontakt');
  assert.equal(await page.getByRole('link', { name: 'Zaloguj się Kartą Mieszkańca' }).count(), 1);
  assert.ok(!(await page.locator('main').textContent()).includes(CLAIMS.name));
  await page.getByLabel('Imię i nazwisko').fill('Jan Kowalski');
  await page.getByLabel('Adres e-mail').fill('jan.kowalski@example.pl');
  await page.getByRole('button', { name: 'Dalej' }).click();
  assert.equal(stepOf(page), 'sprawdz');
  assert.ok((await page.locator('main').textContent()).includes('Jan Kowalski'));
  await page.close();
});

test('no request left this machine', () => {
  assert.deepEqual(attempted, []);
});
