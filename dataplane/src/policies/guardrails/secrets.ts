// Credentials that look like API keys and tokens, by the prefixes their issuers document:
// OpenAI/Anthropic-style "sk-…", AWS access key ids (AKIA…/ASIA…), GitHub tokens (ghp_…, gho_…,
// ghu_…, ghs_…, ghr_…, github_pat_…), Slack tokens (xoxb-…, xoxp-…), Stripe keys (sk_live_…),
// Google API keys (AIza…), JWTs (three base64url parts whose header is JSON naming an "alg"), and
// generic prefixed tokens ("<word>_<long random part>") whose random part has high entropy.
//
// Every pattern is linear in the text: the regexes' quantifiers are bounded (a key family's
// documented length, or a generous cap) so the work at each starting position is bounded, and the
// one open-ended family, "sk-" keys, is extended past its cap by a plain loop. JWTs, whose parts
// have no length limit, are found by an iterative scanner that reads each character a bounded
// number of times.
import { type Finding, matchesOf } from './types.ts';

/** Longest key tail the "sk-", Slack and Stripe patterns read in one go. */
const TAIL = 256;
const KNOWN = new RegExp(
  [
    `\\bsk-(?:[A-Za-z0-9]{1,64}-){0,3}[A-Za-z0-9_]{20,${TAIL}}`,
    /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/.source,
    /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/.source,
    /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/.source,
    `\\bxox[abeoprs]-(?:[A-Za-z0-9]{1,64}-){1,5}[A-Za-z0-9]{6,${TAIL}}\\b`,
    `\\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,${TAIL}}\\b`,
    /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/.source,
  ].join('|'),
  'g',
);
/** A lowercase word, a separator, then 24+ letters and digits (checked for entropy below). */
const PREFIXED = /\b[a-z][a-z0-9]{1,15}[_-](?:[a-z0-9]{2,8}[_-])?([A-Za-z0-9]{24,128})\b/g;
const MIN_ENTROPY_BITS = 3.5;
/** A JWS header names an algorithm and a few claims; a longer first part is not one. */
const MAX_JWT_HEADER_CHARS = 4096;

export function findSecrets(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(KNOWN, text)) {
    let end = m.index + m[0].length;
    // "sk-" keys have no documented length: the key goes on as far as its characters do.
    if (m[0].startsWith('sk-')) {
      while (end < text.length && isKeyChar(text.charCodeAt(end))) end++;
      KNOWN.lastIndex = end;
    }
    out.push({ type: 'secret', start: m.index, end });
  }
  for (const [start, end] of jwtsIn(text)) out.push({ type: 'secret', start, end });
  for (const m of matchesOf(PREFIXED, text)) {
    const body = m[1]!;
    if (/\d/.test(body) && /[A-Za-z]/.test(body) && entropy(body) >= MIN_ENTROPY_BITS) out.push(finding(m));
  }
  return withoutOverlaps(out);
}

/** [A-Za-z0-9_] */
function isKeyChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}

/** [A-Za-z0-9_-]: the base64url alphabet. */
function isBase64Url(code: number): boolean {
  return isKeyChar(code) || code === 45;
}

/** Where a run of base64url characters starting at `from` ends. */
function base64UrlEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isBase64Url(text.charCodeAt(i))) i++;
  return i;
}

/**
 * JWTs: a token of their own (no base64url character before it), "eyJ" and 6+ base64url characters, ".", "eyJ" and 6+ more, ".", and a
 * signature (possibly empty), the first part decoding to a JWS header. A failed candidate resumes
 * the search at its second part (which may begin the next token), so each part is read at most
 * three times whatever the input.
 */
export function* jwtsIn(text: string): Generator<[start: number, end: number]> {
  let from = 0;
  for (;;) {
    const start = text.indexOf('eyJ', from);
    if (start === -1) return;
    if (start > 0 && isBase64Url(text.charCodeAt(start - 1))) {
      from = start + 1;
      continue;
    }
    const headerEnd = base64UrlEnd(text, start + 3);
    // Any later start inside this first part ends where it ends: resume past it.
    from = headerEnd;
    if (headerEnd - start < 9 || text.charCodeAt(headerEnd) !== 46 || !text.startsWith('eyJ', headerEnd + 1))
      continue;
    const payloadEnd = base64UrlEnd(text, headerEnd + 4);
    from = headerEnd + 1;
    if (payloadEnd - headerEnd - 1 < 9 || text.charCodeAt(payloadEnd) !== 46) continue;
    const end = base64UrlEnd(text, payloadEnd + 1);
    if (headerEnd - start > MAX_JWT_HEADER_CHARS || !jwtHeader(text.slice(start, headerEnd))) continue;
    yield [start, end];
    from = end;
  }
}

/** One finding per secret: a known-prefix match and the generic one cover the same text. */
function withoutOverlaps(findings: Finding[]): Finding[] {
  if (findings.length < 2) return findings;
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  let reached = -1;
  return findings.filter((f) => {
    if (f.start < reached) return false;
    reached = f.end;
    return true;
  });
}

function finding(m: RegExpExecArray): Finding {
  return { type: 'secret', start: m.index, end: m.index + m[0].length };
}

/**
 * True when a JWT's first part decodes to a JSON object naming an "alg", as every JWS header does.
 * Read without JSON.parse: a text can hold a million header-like parts, and a thrown parse error
 * each would cost seconds.
 */
function jwtHeader(part: string): boolean {
  const header = Buffer.from(part, 'base64url').toString('utf8').trim();
  if (!header.startsWith('{') || !header.endsWith('}')) return false;
  const alg = header.indexOf('"alg"');
  if (alg === -1) return false;
  ALG_VALUE.lastIndex = alg + 5;
  return ALG_VALUE.test(header);
}

/** After `"alg"`: a colon and a string value. */
const ALG_VALUE = /\s{0,16}:\s{0,16}"/y;

/** Shannon entropy in bits per character: random keys score ~5–6, words and counters far less. */
export function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
