// Credentials that look like API keys and tokens, by the prefixes their issuers document:
// OpenAI/Anthropic-style "sk-…", AWS access key ids (AKIA…/ASIA…), GitHub tokens (ghp_…, gho_…,
// ghu_…, ghs_…, ghr_…, github_pat_…), Slack tokens (xoxb-…, xoxp-…), Stripe keys (sk_live_…),
// Google API keys (AIza…), JWTs (three base64url parts whose header is JSON naming an "alg"), and
// generic prefixed tokens ("<word>_<long random part>") whose random part has high entropy.
import { type Finding, matchesOf } from './types.ts';

const KNOWN = new RegExp(
  [
    /\bsk-(?:[A-Za-z0-9]+-){0,3}[A-Za-z0-9_]{20,}/.source,
    /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/.source,
    /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/.source,
    /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/.source,
    /\bxox[abeoprs]-(?:[A-Za-z0-9]+-){1,5}[A-Za-z0-9]{6,}\b/.source,
    /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b/.source,
    /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/.source,
  ].join('|'),
  'g',
);
const JWT = /\beyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g;
/** A lowercase word, a separator, then 24+ letters and digits (checked for entropy below). */
const PREFIXED = /\b[a-z][a-z0-9]{1,15}[_-](?:[a-z0-9]{2,8}[_-])?([A-Za-z0-9]{24,128})\b/g;
const MIN_ENTROPY_BITS = 3.5;

export function findSecrets(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(KNOWN, text)) out.push(finding(m));
  for (const m of matchesOf(JWT, text)) if (jwtHeader(m[0])) out.push(finding(m));
  for (const m of matchesOf(PREFIXED, text)) {
    const body = m[1]!;
    if (/\d/.test(body) && /[A-Za-z]/.test(body) && entropy(body) >= MIN_ENTROPY_BITS) out.push(finding(m));
  }
  return withoutOverlaps(out);
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

/** True when the first part decodes to a JSON object with an "alg", as every JWS header has. */
function jwtHeader(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof header.alg === 'string';
  } catch {
    return false;
  }
}

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
