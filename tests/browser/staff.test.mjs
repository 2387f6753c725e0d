// The staff's pages and the pairing of devices in Chromium (issue 14): login, logout, the
// lockout after five wrong passwords, an expired session's notice and the way back; an
// administrator makes a pairing code on "Urządzenia" in one browser, a second browser redeems
// it and becomes the city's kiosk; a wrong and an expired code are refused. Login and pairing
// run without JavaScript; axe-core checks every state of every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { launchBoth } from './lib/browser.mjs';
import { expectAccessible } from './lib/axe.mjs';
import { operatorToken, admin, staff, offices, pairingCode, STAFF_COOKIE, DEVICE_COOKIE } from './lib/office.mjs';

let server;
let browsers;
let plain;
let scripted;
let op;
let adm;

before(async () => {
  server = await startServer({ env: { OKIENKO_SHUTDOWN_DRAIN_MS: '0' } });
  browsers = await launchBoth();
  ({ plain, scripted } = browsers);
  op = await operatorToken(server);
  adm = await admin(server, 'opole', op);
});

after(async () => {
  assert.deepEqual(browsers?.attempted.plain ?? [], [], 'no requests beyond this machine');
  assert.deepEqual(browsers?.attempted.scripted ?? [], [], 'no requests beyond this machine');
  await browsers?.close();
  await server?.stop();
});

/** axe-core on the page as it is; a page of the context without JavaScript is checked in the other. */
const check = (page, what) => expectAccessible(page, what, page.context() === plain.context ? scripted.context : undefined);

/** Screenshots for a person to look at, when OKIENKO_SHOTS names a directory. */
async function shot(page, name) {
  const dir = process.env.OKIENKO_SHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

async function cookie(context, name) {
  return (await context.cookies(`${server.base}/t/`)).find((c) => c.name === name);
}

async function logIn(page, login, password) {
  await page.getByLabel('Login (adres e-mail)').fill(login);
  await page.getByLabel('Hasło', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
}

test('a clerk logs in and out without JavaScript; the session is an HTTP-only cookie', async () => {
  const clerk = await staff(server, 'opole', adm.token, 'CLERK', 'Anna Urzędniczka');
  const page = await plain.context.newPage();
  await page.goto(`${server.base}/t/opole/personel`);
  assert.equal(new URL(page.url()).pathname, '/t/opole/personel/logowanie');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/t/opole/personel');
  await check(page, 'the login page');

  await page.getByRole('button', { name: 'Zaloguj się' }).click();
  assert.match(await page.locator('.error-summary').textContent(), /Wpisz login/);
  assert.match(await page.locator('#password-error').textContent(), /Wpisz hasło/);
  await check(page, 'the login page with empty fields');

  await logIn(page, clerk.login, 'to-nie-jest-haslo');
  assert.match(await page.locator('#password-error').textContent(), /Nieprawidłowy login lub hasło\./);
  assert.equal(await page.getByLabel('Login (adres e-mail)').inputValue(), clerk.login, 'the login is kept');
  assert.equal(await page.getByLabel('Hasło', { exact: true }).inputValue(), '', 'the password is not');
  await check(page, 'the login page after a wrong password');
  await shot(page, 'staff-login-wrong');

  await page.getByLabel('Hasło', { exact: true }).fill(clerk.password);
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
  assert.equal(new URL(page.url()).pathname, '/t/opole/personel');
  assert.match(await page.locator('main').textContent(), /Anna Urzędniczka/);
  assert.ok(await page.getByRole('link', { name: 'Stanowisko obsługi' }).isVisible());
  assert.ok(await page.getByRole('link', { name: 'Lista przyjęć' }).isVisible());
  assert.equal(await page.getByRole('link', { name: 'Urządzenia' }).count(), 0, "devices are the administrator's");
  const c = await cookie(plain.context, STAFF_COOKIE);
  assert.ok(c?.value.startsWith('oks_'));
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Strict');
  assert.equal(c.path, '/t/');
  await check(page, 'the staff start page');
  await shot(page, 'staff-home');

  // The admission list (OP-9) with the cookie.
  await page.getByRole('link', { name: 'Lista przyjęć' }).click();
  assert.match(await page.locator('h1').textContent(), /Lista przyjęć/);
  await page.goBack();

  await page.getByRole('button', { name: 'Wyloguj się' }).click();
  assert.equal(new URL(page.url()).pathname, '/t/opole/personel/logowanie');
  assert.match(await page.locator('main').textContent(), /Wylogowano\./);
  assert.equal(await cookie(plain.context, STAFF_COOKIE), undefined, 'the cookie is gone');
  await check(page, 'the login page after logout');
  // The session ended on the server too.
  const v = await server.gql('/t/opole/admin/graphql', '{ configuration { offices { id } } }', {}, c.value);
  assert.equal(v.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  await page.close();
});

test('five wrong passwords lock the account, saying until when', async () => {
  const clerk = await staff(server, 'opole', adm.token, 'CLERK');
  const page = await plain.context.newPage();
  await page.goto(`${server.base}/t/opole/personel/logowanie`);
  for (let i = 0; i < 5; i++) await logIn(page, clerk.login, 'zle-haslo-123');
  // The dev clock started at 09:00 in Warsaw: 15 minutes' lock.
  const text = await page.locator('#password-error').textContent();
  assert.match(text, /Konto zostało zablokowane.*Spróbuj ponownie po 09:1\d, 01\.12\.2026\./s, text);
  await check(page, 'the login page of a locked account');
  await shot(page, 'staff-login-locked');
  await logIn(page, clerk.login, clerk.password);
  assert.match(await page.locator('#password-error').textContent(), /zablokowane/, 'even the right password');
  assert.equal(await cookie(plain.context, STAFF_COOKIE), undefined);
  await page.close();
});

test('an administrator pairs a kiosk: a code on one browser, redeemed on another without JavaScript', async () => {
  const admin = await scripted.context.newPage();
  await admin.goto(`${server.base}/t/opole/personel/urzadzenia`);
  await logIn(admin, adm.login, adm.password);
  assert.equal(new URL(admin.url()).pathname, '/t/opole/personel/urzadzenia', 'back where it was going');
  await check(admin, 'the devices page, none yet');
  await admin.getByRole('button', { name: 'Utwórz kod parowania' }).click();
  assert.match(await admin.locator('#name-error').textContent(), /Podaj nazwę urządzenia/);
  await check(admin, 'the devices page with an error');

  await admin.getByLabel('Biletomat (kiosk)').check();
  await admin.getByLabel('Nazwa urządzenia').fill('Biletomat przy wejściu');
  await admin.getByRole('button', { name: 'Utwórz kod parowania' }).click();
  const code = (await admin.locator('.staff-code-value strong').textContent()).trim();
  assert.match(code, /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
  assert.match(await admin.locator('.staff-code').textContent(), /ważny 10 min/);
  await check(admin, 'the devices page showing a code');
  await shot(admin, 'devices-code');

  // The device's browser, without JavaScript.
  const device = await plain.context.newPage();
  await device.goto(`${server.base}/t/opole/urzadzenie`);
  await check(device, 'the pairing page');
  await device.getByLabel('Kod parowania').fill('AAAA-AAAA');
  await device.getByRole('button', { name: 'Połącz' }).click();
  assert.match(await device.locator('#code-error').textContent(), /Nie ma takiego kodu/);
  await check(device, 'the pairing page after a wrong code');
  await shot(device, 'pair-wrong');
  await device.getByLabel('Kod parowania').fill(code.toLowerCase());
  const [answer] = await Promise.all([
    device.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/t/opole/urzadzenie')),
    device.getByRole('button', { name: 'Połącz' }).click(),
  ]);
  assert.equal(answer.status(), 303);
  assert.equal(answer.headers().location, '/t/opole/kiosk');
  await device.waitForURL(`${server.base}/t/opole/kiosk`);
  const d = await cookie(plain.context, DEVICE_COOKIE);
  assert.ok(d?.value.startsWith('okd_'));
  assert.equal(d.httpOnly, true);
  assert.equal(d.sameSite, 'Strict');

  // The administrator's list shows it, and "Usuń" removes it.
  await admin.goto(`${server.base}/t/opole/personel/urzadzenia`);
  const row = admin.locator('tr', { hasText: 'Biletomat przy wejściu' });
  assert.match(await row.textContent(), /połączone/);
  await check(admin, 'the devices page with a device');
  await shot(admin, 'devices-list');
  await row.getByRole('button', { name: /Usuń/ }).click();
  assert.match(await admin.locator('main').textContent(), /Urządzenie usunięto/);
  assert.match(await admin.locator('tr', { hasText: 'Biletomat przy wejściu' }).textContent(), /usunięte/);
  await check(admin, 'the devices page after removing');
  const v = await server.gql('/t/opole/kiosk/graphql', '{ office { name } }', {}, d.value);
  assert.equal(v.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'the removed kiosk is refused');

  // The same code again.
  await device.goto(`${server.base}/t/opole/urzadzenie?kod=${code}`);
  assert.equal(await device.getByLabel('Kod parowania').inputValue(), code, 'the link fills the code in');
  await device.getByRole('button', { name: 'Połącz' }).click();
  assert.match(await device.locator('#code-error').textContent(), /już użyty/);
  await admin.close();
  await device.close();
});

// Last: moves the server's clock on.
test('an expired session goes to login with a notice and back; an expired code is refused', async () => {
  const clerk = await staff(server, 'opole', adm.token, 'CLERK');
  const office = (await offices(server, 'opole', adm.token))[0].id;
  const { code } = await pairingCode(server, 'opole', adm.token, { kind: 'DISPLAY', officeId: office });
  const page = await plain.context.newPage();
  await page.goto(`${server.base}/t/opole/personel/logowanie`);
  await logIn(page, clerk.login, clerk.password);
  assert.equal(new URL(page.url()).pathname, '/t/opole/personel');

  // Nine hours on: past the session's eight and the code's ten minutes.
  await server.restartAt('2026-12-01T17:00:00Z');
  await page.goto(`${server.base}/t/opole/staff/przyjecia?dzien=2026-12-02`);
  const url = new URL(page.url());
  assert.equal(url.pathname, '/t/opole/personel/logowanie');
  assert.equal(url.searchParams.get('wygasla'), '1');
  assert.match(await page.locator('[role=status]').textContent(), /Sesja wygasła\. Zaloguj się ponownie/);
  await check(page, 'the login page after the session expired');
  await shot(page, 'staff-login-expired');
  await logIn(page, clerk.login, clerk.password);
  assert.equal(page.url(), `${server.base}/t/opole/staff/przyjecia?dzien=2026-12-02`, 'back where it was');
  assert.match(await page.locator('h1').textContent(), /^Lista przyjęć – 02\.12\.2026$/);
  await check(page, 'the admission list (OP-9)');

  const device = await plain.context.newPage();
  await device.goto(`${server.base}/t/opole/urzadzenie?kod=${code}`);
  await device.getByRole('button', { name: 'Połącz' }).click();
  assert.match(await device.locator('#code-error').textContent(), /Ten kod wygasł/);
  await check(device, 'the pairing page after an expired code');
  await page.close();
  await device.close();
});
