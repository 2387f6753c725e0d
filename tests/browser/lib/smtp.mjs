// A real SMTP server for a browser test: aiosmtpd (a maintained Python SMTP server, as in
// tests/e2e_smtp.rs; `.ci/run` installs it) on a free port of 127.0.0.1, storing every message
// it accepts in a maildir of its own. The server under test delivers to it over `SMTP_URL`;
// lib/mail.mjs reads what arrived.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopAndRemove } from './server.mjs';

/** Whether aiosmtpd can be started here; tests/browser.rs checks it before running node. */
export function smtpAvailable() {
  return spawnSync('python3', ['-c', 'import aiosmtpd'], { stdio: 'ignore' }).status === 0;
}

/** Resolves with the server's first line once it accepts a connection, else rejects. */
function greeting(port) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.setTimeout(2000);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\n')) {
        sock.end('QUIT\r\n');
        resolve(got.trim());
      }
    });
    sock.on('timeout', () => { sock.destroy(); reject(new Error('no greeting')); });
    sock.on('error', reject);
  });
}

/**
 * Starts aiosmtpd. Returns `url` (for SMTP_URL), `messages()` (every stored message, raw bytes,
 * in the order they arrived), `log()` and `stop()`.
 */
export async function startSmtp() {
  const root = mkdtempSync(join(tmpdir(), 'okienko-smtp-'));
  const maildir = join(root, 'maildir');
  const port = await freePort();
  const log = openSync(join(root, 'smtpd.log'), 'w');
  const child = spawn(
    'python3',
    ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
    { stdio: ['ignore', log, log] },
  );
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  const readLog = () => readFileSync(join(root, 'smtpd.log'), 'utf8');
  for (let i = 0; ; i++) {
    if (exited !== null) throw new Error(`aiosmtpd exited with ${exited}:\n${readLog()}`);
    try {
      const hello = await greeting(port);
      if (!hello.startsWith('220')) throw new Error(`aiosmtpd greeted with ${hello}`);
      break;
    } catch (e) {
      if (i === 100) throw new Error(`aiosmtpd did not start: ${e.message}\n${readLog()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: `smtp://127.0.0.1:${port}`,
    maildir,
    /**
     * The maildir's messages in arrival order. Python's Maildir names a file
     * `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`, the counter rising with each message
     * of this one process.
     */
    messages() {
      const order = (f) => Number(/Q(\d+)/.exec(f)?.[1] ?? 0);
      return ['new', 'cur']
        .map((d) => join(maildir, d))
        .filter((d) => existsSync(d))
        .flatMap((d) => readdirSync(d).filter((f) => !f.startsWith('.')).map((f) => ({ f, d })))
        .sort((a, b) => order(a.f) - order(b.f))
        .map(({ f, d }) => readFileSync(join(d, f)));
    },
    log: readLog,
    async stop() {
      await stopAndRemove(child, exited === null, root);
    },
  };
}
