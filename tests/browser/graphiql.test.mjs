// GraphiQL of every GraphQL endpoint, opened in headless Chromium with the network cut: its
// assets come from the binary, and its standard introspection query loads the schema (issue
// 10). Any request the page tries to send elsewhere than this machine fails the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { launch, offline } from './lib/browser.mjs';

const ENDPOINTS = [
  // path, a field of its Query type
  ['/t/gdynia/graphql', 'availability'],
  ['/t/opole/admin/graphql', 'configuration'],
  ['/platform/graphql', 'tenants'],
  ['/t/cieszyn/kiosk/graphql', 'queues'],
  ['/t/cieszyn/desk/graphql', 'admissionList'],
  ['/t/cieszyn/display/graphql', 'board'],
];

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const [path, field] of ENDPOINTS) {
  test(`GraphiQL at ${path} loads its schema offline`, async () => {
    const page = await browser.context.newPage();
    const attempted = await offline(page.context());
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(server.base + path);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    // GraphiQL's interface is English: the page says so.
    assert.equal(await page.getAttribute('html', 'lang'), 'en');

    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().click({ timeout: 15000 });
    await docs.getByText(field, { exact: true }).first().waitFor({ timeout: 15000 });

    if (process.env.OKIENKO_SCREENSHOTS) {
      mkdirSync(process.env.OKIENKO_SCREENSHOTS, { recursive: true });
      const name = path.replaceAll('/', '_').replace(/^_/, '') + '.png';
      await page.screenshot({ path: join(process.env.OKIENKO_SCREENSHOTS, name) });
    }
    assert.deepEqual(errors, [], 'script errors on the page');
    assert.deepEqual(attempted, [], 'requests beyond this machine');
    await page.close();
  });
}

test('the assets are cached for a year under hashed names', async () => {
  const html = await (await fetch(server.base + '/t/gdynia/graphql')).text();
  const js = html.match(/src="(\/assets\/graphiql\.min\.[0-9a-f]{12}\.js)"/);
  assert.ok(js, html);
  const r = await fetch(server.base + js[1]);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(r.headers.get('content-type'), /javascript/);
  const missing = await fetch(server.base + '/assets/graphiql.min.000000000000.js');
  assert.equal(missing.status, 404);
});
