// The e-mails the server wrote to its data directory (the file backend), decoded enough to
// read Polish text and links: quoted-printable soft breaks and =XX escapes.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function decode(raw) {
  const joined = raw.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
}

/** Every e-mail so far, oldest first (file names are the outbox ids). */
export function mails(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml') && !f.startsWith('.'))
    .sort()
    .map((f) => decode(readFileSync(join(dir, f), 'utf8')));
}

/** Waits (bounded) for the n-th e-mail to `to`, and returns the last one to `to`. */
export async function lastMailTo(dir, to, count = 1) {
  for (let i = 0; i < 200; i++) {
    const got = mails(dir).filter((m) => m.includes(`To: ${to}`));
    if (got.length >= count) return got[got.length - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${count} e-mails to ${to} arrived in ${dir}`);
}

/** The URL after `label: ` in a mail's text part. */
export function link(mail, label) {
  const m = mail.match(new RegExp(`${label}: (http\\S+)`));
  if (!m) throw new Error(`no "${label}" link in:\n${mail}`);
  return m[1];
}
