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
 * as a browser without JavaScript would (W-3); `args`, more of Chromium's flags. `close()` ends
 * it and removes the profile.
 */
export async function launch({ javaScriptEnabled = true, args = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'okienko-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...args],
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

/**
 * Two browsers cut off from the network (`offline`), each waiting up to 15 s for anything:
 * `plain` without JavaScript, `scripted` with it. `attempted.plain` and `attempted.scripted`
 * hold what each tried to reach beyond this machine; `close()` ends both.
 */
export async function launchBoth() {
  const both = {};
  both.close = async () => {
    await both.plain?.close();
    await both.scripted?.close();
  };
  try {
    both.plain = await launch({ javaScriptEnabled: false });
    both.scripted = await launch();
    both.attempted = {
      plain: await offline(both.plain.context),
      scripted: await offline(both.scripted.context),
    };
  } catch (e) {
    await both.close();
    throw e;
  }
  both.plain.context.setDefaultTimeout(15000);
  both.scripted.context.setDefaultTimeout(15000);
  return both;
}

/** The step of the booking flow a page shows: the last part of its path. */
export const stepOf = (page) => new URL(page.url()).pathname.split('/').filter(Boolean).pop();

/** A page's first heading. */
export const title = (page) => page.locator('h1').first().textContent();
