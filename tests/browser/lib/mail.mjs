// The e-mails the server sent, read the way a mail client would: from the SMTP server the
// test started (lib/smtp.mjs) or from the data directory's `.eml` files (the file backend),
// each parsed as MIME (RFC 2045-2047): headers unfolded and their encoded words decoded,
// multipart bodies split at their boundaries, every leaf part's quoted-printable or base64
// undone and its charset applied.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** Unfolds a header block into [name, value] pairs, in order. */
function parseHeaders(block) {
  const lines = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length) lines[lines.length - 1] += line;
    else if (line) lines.push(line);
  }
  return lines
    .map((l) => {
      const i = l.indexOf(':');
      return i < 0 ? null : [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
    })
    .filter(Boolean);
}

const bytesOf = (latin1) => Buffer.from(latin1, 'latin1');

function quotedPrintable(latin1) {
  const s = latin1.replace(/[ \t]+(?=\r?\n)/g, '').replace(/=\r?\n/g, '');
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3);
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(s.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(out);
}

function charsetText(bytes, charset = 'utf-8') {
  try {
    return new TextDecoder(charset.toLowerCase() === 'us-ascii' ? 'utf-8' : charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header's value. */
function decodeWords(value) {
  return value
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, enc, text) => {
      const bytes = enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : quotedPrintable(text.replace(/_/g, ' '));
      return charsetText(bytes, charset);
    });
}

/** `text/plain; charset=utf-8; format=flowed` → { type, params }. */
function parseContentType(value = 'text/plain; charset=us-ascii') {
  const [type, ...rest] = value.split(';');
  const params = {};
  for (const m of (';' + rest.join(';')).matchAll(/;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    params[m[1].toLowerCase()] = m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, '$1') : m[2].trim();
  }
  return { type: type.trim().toLowerCase(), params };
}

/** The parts between a multipart body's boundaries (preamble and epilogue dropped). */
function splitMultipart(body, boundary) {
  const esc = boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${esc}(--)?[ \\t]*(?:\\r?\\n|$)`, 'g');
  const parts = [];
  let from = null;
  let closed = false;
  for (const m of body.matchAll(delimiter)) {
    if (from !== null) parts.push(body.slice(from, m.index));
    if (m[1]) { closed = true; break; }
    from = m.index + m[0].length;
  }
  if (!closed) throw new Error(`multipart body without its closing boundary --${boundary}--`);
  return parts;
}

/** One MIME entity (a whole message or a part of one), from its text in latin1. */
function parseEntity(latin1) {
  const m = /\r?\n\r?\n/.exec(latin1);
  const head = m ? latin1.slice(0, m.index) : latin1;
  const body = m ? latin1.slice(m.index + m[0].length) : '';
  const headers = parseHeaders(head);
  const header = (name) => headers.find(([n]) => n === name)?.[1];
  const { type, params } = parseContentType(header('content-type'));
  const entity = { type, params, headers, header };
  if (type.startsWith('multipart/')) {
    if (!params.boundary) throw new Error(`${type} without a boundary`);
    entity.children = splitMultipart(body, params.boundary).map(parseEntity);
    return entity;
  }
  const encoding = (header('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'base64') entity.bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (encoding === 'quoted-printable') entity.bytes = quotedPrintable(body);
  else if (['7bit', '8bit', 'binary'].includes(encoding)) entity.bytes = bytesOf(body);
  else throw new Error(`unknown Content-Transfer-Encoding ${encoding}`);
  const disposition = header('content-disposition');
  if (disposition) entity.disposition = parseContentType(disposition);
  entity.filename = entity.disposition?.params.filename ?? params.name;
  if (type.startsWith('text/')) entity.text = charsetText(entity.bytes, params.charset).replace(/\r\n/g, '\n');
  return entity;
}

function leaves(e) {
  return e.children ? e.children.flatMap(leaves) : [e];
}

/**
 * A parsed e-mail: `header(name)` (decoded), `to`, `subject`, `structure` (e.g.
 * `multipart/mixed(multipart/alternative(text/plain,text/html),text/calendar)`), `parts` (the
 * leaf parts), `text`, `html` and `ics` (the decoded bodies), and `readable`: the headers and
 * the text part as a person reads them.
 */
export function parseMail(raw) {
  const root = parseEntity((Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8')).toString('latin1'));
  const header = (name) => {
    const v = root.header(name.toLowerCase());
    return v === undefined ? undefined : decodeWords(v);
  };
  const shape = (e) => (e.children ? `${e.type}(${e.children.map(shape).join(',')})` : e.type);
  const parts = leaves(root);
  const body = (type) => parts.find((p) => p.type === type && p.disposition?.type !== 'attachment')?.text;
  const mail = {
    root,
    header,
    to: header('to'),
    subject: header('subject'),
    structure: shape(root),
    parts,
    text: body('text/plain'),
    html: body('text/html'),
    ics: parts.find((p) => p.type === 'text/calendar')?.text,
  };
  mail.readable = ['from', 'to', 'subject', 'date']
    .filter((h) => header(h) !== undefined)
    .map((h) => `${h[0].toUpperCase()}${h.slice(1)}: ${header(h)}`)
    .join('\n') + `\n\n${mail.text ?? ''}`;
  return mail;
}

/**
 * Every e-mail so far, oldest first, parsed. `source`: the SMTP server of lib/smtp.mjs, or the
 * directory of the file backend's `.eml` files (their names are the outbox ids).
 */
export function messages(source) {
  if (typeof source !== 'string') return source.messages().map(parseMail);
  if (!existsSync(source)) return [];
  return readdirSync(source)
    .filter((f) => f.endsWith('.eml') && !f.startsWith('.'))
    .sort()
    .map((f) => parseMail(readFileSync(join(source, f))));
}

/** Waits (bounded) for the n-th e-mail to `to`, and returns the last one to `to`, parsed. */
export async function lastMessageTo(source, to, count = 1) {
  let got = [];
  for (let i = 0; i < 200; i++) {
    got = messages(source).filter((m) => m.to === to || m.to?.endsWith(`<${to}>`));
    if (got.length >= count) return got[got.length - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${count} e-mails to ${to} arrived (${got.length})`);
}

/** As `lastMessageTo`, the e-mail as a person reads it: headers and text. */
export async function lastMailTo(source, to, count = 1) {
  return (await lastMessageTo(source, to, count)).readable;
}

/** The URL after `label: ` in a mail's text part (a parsed e-mail or its readable text). */
export function link(mail, label) {
  const text = typeof mail === 'string' ? mail : mail.text;
  const m = text?.match(new RegExp(`${label}: (http\\S+)`));
  if (!m) throw new Error(`no "${label}" link in:\n${text}`);
  return m[1];
}
