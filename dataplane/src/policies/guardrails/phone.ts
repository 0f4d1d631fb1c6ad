// Phone numbers, found and validated with libphonenumber-js's full metadata: any number written
// in international form (+44 20 7946 0958), and national forms of the configured countries
// (default US: (415) 555-2671, 415-555-2671; with GB: 020 7946 0958; …). Only numbers valid for
// their country's numbering plan count, so dates, version strings and order numbers do not.
//
// The library's scan costs tens of microseconds per run of digits and slows down on long runs, so
// it reads only runs that could be a phone number, at most MAX_RUN characters long and at most
// MAX_VALIDATED scans per text. Past that (a pasted table of numbers) numbers are recognised by
// their shape alone, which keeps a hostile prompt from buying seconds of CPU.
import { type CountryCode, findPhoneNumbersInText, isSupportedCountry } from 'libphonenumber-js/max';
import { type Detector, type Finding, matchesOf } from './types.ts';

/** A run of digits and the separators people write between them. */
const CANDIDATE = /[+(]?\d[\d \t().\-/]{5,}\d/g;
const MAX_VALIDATED = 1000;
/** Longer runs (tables of digits) are not handed to the library: its scan slows down on them. */
const MAX_RUN = 64;
/** The shapes counted without validation: in long runs, and once the budget is spent. */
const SHAPE =
  /(?<![\d+])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,5}\d{2,4}|\(?[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4})(?!\d)/g;

/**
 * A detector for international numbers and the national formats of `regions` (unknown codes are
 * left out). North American national numbers have 10 digits; elsewhere 7 can be enough.
 */
export function phoneFinder(regions: readonly string[] = ['US']): Detector {
  const countries = regions.filter((r): r is CountryCode => isSupportedCountry(r));
  if (countries.length === 0) countries.push('US');
  const nationalDigits = countries.every((c) => c === 'US' || c === 'CA') ? 10 : 7;
  return (text) => {
    const out: Finding[] = [];
    let scans = 0;
    for (const m of matchesOf(CANDIDATE, text)) {
      const run = m[0];
      const international = run.includes('+');
      const digits = run.replace(/\D/g, '').length;
      if (digits < (international ? 7 : nationalDigits)) continue;
      const regionsToScan = international ? countries.slice(0, 1) : countries;
      if (run.length > MAX_RUN || scans + regionsToScan.length > MAX_VALIDATED) {
        for (const s of matchesOf(SHAPE, run)) {
          out.push({ type: 'phone', start: m.index + s.index, end: m.index + s.index + s[0].length });
        }
        continue;
      }
      scans += regionsToScan.length;
      const starts = new Set<number>();
      for (const defaultCountry of regionsToScan) {
        for (const f of findPhoneNumbersInText(run, { defaultCountry })) {
          if (starts.has(f.startsAt)) continue;
          starts.add(f.startsAt);
          out.push({ type: 'phone', start: m.index + f.startsAt, end: m.index + f.endsAt });
        }
      }
    }
    return out;
  };
}

/** International numbers and North American national ones. */
export const findPhones: Detector = phoneFinder();
