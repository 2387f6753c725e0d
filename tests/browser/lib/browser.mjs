// Debian's chromium (never a downloaded browser build) through playwright-core, headless, with
// a fresh profile, and a way to cut a page off from everything but this machine.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.OKIENKO_CHROMIUM || '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/**
 * A browser context on a fresh user-data directory. `javaScriptEnabled: false` tries a page
 * as a browser without JavaScript would (W-3). `close()` ends it and removes the profile.
 */
export async function launch({ javaScriptEnabled = true } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'okienko-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    javaScriptEnabled,
    locale: 'pl-PL',
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Cuts the context off from the network: every request not to 127.0.0.1 is aborted and
 * recorded, so a test can fail when a page tried to reach anything else.
 */
export async function offline(context) {
  const attempted = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    attempted.push(url.href);
    return route.abort('internetdisconnected');
  });
  return attempted;
}
