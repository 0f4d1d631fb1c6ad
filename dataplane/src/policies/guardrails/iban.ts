// IBANs: a country code, two check digits and the country's BBAN, written compact or in groups
// of four. ibantools checks the country's length and BBAN format and the ISO 13616 mod-97
// checksum, so a mistyped or made-up number does not count. The match is cut at the length the
// country prescribes, so words after a grouped IBAN are never swallowed.
import { getCountrySpecifications, isValidIBAN } from 'ibantools';
import { type Finding, matchesOf } from './types.ts';

const CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}/g;
const LENGTHS = new Map(
  Object.entries(getCountrySpecifications()).flatMap(([code, spec]) =>
    spec.chars ? [[code, spec.chars] as const] : [],
  ),
);

export function findIBANs(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(CANDIDATE, text)) {
    const length = LENGTHS.get(m[0].slice(0, 2));
    if (!length) continue;
    // Walk the match until the country's number of characters; that is where the IBAN ends.
    let compact = '';
    let end = 0;
    for (; end < m[0].length && compact.length < length; end++) {
      const ch = m[0][end]!;
      if (ch !== ' ') compact += ch;
    }
    if (compact.length !== length) continue;
    const next = m[0][end];
    if (next !== undefined && next !== ' ') continue;
    if (!isValidIBAN(compact)) continue;
    out.push({ type: 'iban', start: m.index, end: m.index + end });
  }
  return out;
}
