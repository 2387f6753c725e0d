// axe-core on the page as it is now: any violation of WCAG 2.0/2.1 A and AA fails (W-4).
import AxeBuilder from '@axe-core/playwright';
import assert from 'node:assert/strict';

export const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

async function analyze(page, what) {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`,
  );
  assert.deepEqual(found, [], `axe-core found violations on ${what} (${page.url()}):\n${found.join('\n')}`);
}

/**
 * Checks `page`. axe-core runs as a script in the page, which a context without JavaScript
 * cannot do: give `scripted`, a context with JavaScript, and the page's state (its HTML at its
 * URL, nothing fetched again) is checked there instead.
 */
export async function expectAccessible(page, what, scripted) {
  if (!scripted) return analyze(page, what);
  const html = await page.content();
  const url = page.url();
  const copy = await scripted.newPage();
  await copy.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  await copy.goto(url);
  try {
    await analyze(copy, what);
  } finally {
    await copy.close();
  }
}
