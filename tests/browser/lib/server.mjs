// Starts the real `okienko` binary for a browser test: a free port, a fresh data directory,
// the shipped cities, the dev clock at `now`, rate limits off. The binary comes from
// OKIENKO_BIN (tests/browser.rs passes the one cargo built).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Tuesday 1 December 2026, 09:00 in Warsaw, as in the Rust end-to-end tests. */
export const NOW = '2026-12-01T08:00:00Z';

/** A port of 127.0.0.1 that nothing listens on (as the system hands one out). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Ends `child` with SIGTERM and waits for it (when it is `running`), then removes `dir` (if given). */
export async function stopAndRemove(child, running, dir) {
  if (running) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Starts the binary on `data` and `port` with the clock at `now`; resolves once it is ready. */
async function spawnOn({ data, port, now, env }) {
  const bin = process.env.OKIENKO_BIN;
  if (!bin) throw new Error('OKIENKO_BIN is not set (tests/browser.rs sets it to the built okienko)');
  const log = openSync(join(data, 'server.log'), 'a');
  const child = spawn(bin, [], {
    env: {
      PATH: process.env.PATH,
      RUST_LOG: 'info,sqlx=warn',
      OKIENKO_DATA_DIR: data,
      OKIENKO_POLICIES: join(repo, 'policies'),
      OKIENKO_LISTEN: `127.0.0.1:${port}`,
      OKIENKO_SECRET: 'browser-test-secret',
      OKIENKO_DEV: '1',
      OKIENKO_NOW: now,
      OKIENKO_RATE_LIMITS: 'off',
      ...env,
    },
    stdio: ['ignore', 'ignore', log],
  });
  const base = `http://127.0.0.1:${port}`;
  const state = { child, exited: null };
  child.on('exit', (code) => { state.exited = code; });
  for (let i = 0; i < 300; i++) {
    if (state.exited !== null) {
      throw new Error(`okienko exited with ${state.exited}:\n${readFileSync(join(data, 'server.log'), 'utf8')}`);
    }
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
    if (i === 299) throw new Error('okienko did not become ready');
  }
  return state;
}

/**
 * `port` and `data` (both from an earlier server's `port` and `data`) start a server again
 * where one was halted, as a restarted process: the same address, database and files.
 */
export async function startServer({ now = NOW, env = {}, port: samePort, data: sameData } = {}) {
  const data = sameData ?? mkdtempSync(join(tmpdir(), 'okienko-browser-'));
  const port = samePort ?? await freePort();
  const base = `http://127.0.0.1:${port}`;
  let state = await spawnOn({ data, port, now, env });
  return {
    base,
    port,
    data,
    mailDir: join(data, 'mail'),
    async gql(path, query, variables = {}, token) {
      const headers = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const r = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      return r.json();
    },
    log() {
      return readFileSync(join(data, 'server.log'), 'utf8');
    },
    /**
     * Stops the server and starts it again on the same data, address and port with the clock
     * at `now`: time moves on for the server without waiting (as `Server::restart_at` in the
     * Rust tests). The browser's cookies stay valid; staff sessions last 8 hours of the clock.
     */
    async restart({ now: later }) {
      await stopAndRemove(state.child, state.exited === null, null);
      state = await spawnOn({ data, port, now: later, env });
    },
    /** `restart` with only the later clock. */
    async restartAt(later) {
      await this.restart({ now: later });
    },
    async stop() {
      await stopAndRemove(state.child, state.exited === null, data);
    },
    /** Ends the process with SIGTERM and waits for it, keeping the data directory. */
    async halt() {
      await stopAndRemove(state.child, state.exited === null, null);
    },
  };
}
