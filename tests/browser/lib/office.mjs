// Staff and devices for the office screens' browser tests: a platform operator made with the
// binary's command line on the server's own data directory, a city's administrator and clerks
// made through the platform and admin APIs, sessions and device tokens as the login page and
// the pairing page would leave them in their cookies.
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The cookies of the office screens (services/web/src/office/session.rs). */
export const STAFF_COOKIE = 'okienko_staff';
export const DEVICE_COOKIE = 'okienko_device';

const LOGIN = 'mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }';

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}x${++seq}`;

function data(v, path) {
  if (v.errors) throw new Error(`${path}: ${JSON.stringify(v.errors)}`);
  return v.data;
}

/** A platform operator's session token (created with `okienko users create-operator`). */
export async function operatorToken(server) {
  const login = `${unique('ops')}@okienko.example.pl`;
  const out = execFileSync(process.env.OKIENKO_BIN, ['users', 'create-operator', login, '--json'], {
    env: {
      PATH: process.env.PATH,
      RUST_LOG: 'warn',
      OKIENKO_DATA_DIR: server.data,
      OKIENKO_POLICIES: join(repo, 'policies'),
      OKIENKO_SECRET: 'browser-test-secret',
    },
    encoding: 'utf8',
  });
  const { password } = JSON.parse(out);
  if (!password) throw new Error(`no password in: ${out}`);
  return data(await server.gql('/platform/graphql', LOGIN, { l: login, p: password }), 'operator login').login.token;
}

/** A new administrator of `slug`: { login, password, token }. */
export async function admin(server, slug, operator) {
  const op = operator ?? await operatorToken(server);
  const login = `${unique('admin')}@${slug}.example.pl`;
  const made = await server.gql('/platform/graphql',
    'mutation($s: String!, $l: String!) { createTenantAdmin(slug: $s, login: $l, displayName: "Administrator") { password } }',
    { s: slug, l: login }, op);
  const { password } = data(made, 'createTenantAdmin').createTenantAdmin;
  const token = data(await server.gql(`/t/${slug}/admin/graphql`, LOGIN, { l: login, p: password }), 'admin login').login.token;
  return { login, password, token };
}

/** A new staff member of `slug` with `role` (ADMIN, CLERK, CALL_CENTRE): { login, password, token }. */
export async function staff(server, slug, adminToken, role = 'CLERK', name = 'Anna Urzędniczka') {
  const login = `${unique(role.toLowerCase())}@${slug}.example.pl`;
  const password = `haslo-${unique('p')}-dlugie`;
  data(await server.gql(`/t/${slug}/admin/graphql`,
    'mutation($l: String!, $p: String!, $r: StaffRole!, $n: String!) { createUser(login: $l, password: $p, role: $r, displayName: $n) { id } }',
    { l: login, p: password, r: role, n: name }, adminToken), 'createUser');
  const token = data(await server.gql(`/t/${slug}/admin/graphql`, LOGIN, { l: login, p: password }), 'staff login').login.token;
  return { login, password, token };
}

/** The offices of `slug` as configured: [{ id, key, name }]. */
export async function offices(server, slug, adminToken) {
  const v = await server.gql(`/t/${slug}/admin/graphql`, '{ configuration { offices { id key name } } }', {}, adminToken);
  return data(v, 'offices').configuration.offices;
}

/** A device token of `kind` (KIOSK or DISPLAY) for an office (the first when none is named). */
export async function deviceToken(server, slug, adminToken, kind = 'KIOSK', officeId) {
  const office = officeId ?? (await offices(server, slug, adminToken))[0].id;
  const v = await server.gql(`/t/${slug}/admin/graphql`,
    'mutation($k: DeviceKind!, $n: String!, $o: ID!) { createDevice(kind: $k, name: $n, officeId: $o) { token } }',
    { k: kind, n: unique(kind.toLowerCase()), o: office }, adminToken);
  return data(v, 'createDevice').createDevice.token;
}

/** Puts a session or device token in the browser context's cookie, as login or pairing would. */
export async function setCookie(context, server, name, value) {
  await context.addCookies([{ name, value, url: `${server.base}/t/`, httpOnly: true, sameSite: 'Strict' }]);
}

/** A one-time pairing code (`createPairingCode`) for a device of an office (the first when none is named). */
export async function pairingCode(server, slug, adminToken, { kind = 'KIOSK', officeId, desk = null, name } = {}) {
  const office = officeId ?? (await offices(server, slug, adminToken))[0].id;
  const v = await server.gql(`/t/${slug}/admin/graphql`,
    'mutation($k: DeviceKind!, $o: ID!, $d: Int, $n: String!) { createPairingCode(kind: $k, officeId: $o, desk: $d, name: $n) { code expiresAt } }',
    { k: kind, o: office, d: desk, n: name ?? unique(kind.toLowerCase()) }, adminToken);
  return data(v, 'createPairingCode').createPairingCode;
}
