// axe-core on the page as it is now: any violation of WCAG 2.0/2.1 A and AA fails (W-4).
import AxeBuilder from '@axe-core/playwright';
import assert from 'node:assert/strict';

export const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export async function expectAccessible(page, what) {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`,
  );
  assert.deepEqual(found, [], `axe-core found violations on ${what} (${page.url()}):\n${found.join('\n')}`);
}
