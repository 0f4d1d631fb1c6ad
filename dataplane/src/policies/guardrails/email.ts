// Email addresses: a dotted local part, "@", and a domain with a letter-only top-level label.
// Handles without a domain ("@team"), hosts without a TLD ("root@localhost") and npm-style scopes
// ("@scope/pkg") are not addresses.
//
// Linear in the text: a start is only the first character of a run of local-part characters, and
// from there every quantifier is bounded (64-character local part, 63-character labels, at most
// 127 labels as in DNS, a 64-character look past the end, taken only where a label ends), so each
// start costs a bounded amount.
import { type Finding, matchesOf } from './types.ts';

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,127}[A-Za-z]{2,24}(?![A-Za-z0-9-])(?![\w-]{0,64}@)/g;

export function findEmails(text: string): Finding[] {
  if (!text.includes('@')) return [];
  const out: Finding[] = [];
  for (const m of matchesOf(EMAIL, text))
    out.push({ type: 'email', start: m.index, end: m.index + m[0].length });
  return out;
}
