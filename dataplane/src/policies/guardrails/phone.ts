// Phone numbers, found and validated with libphonenumber-js's full metadata: any number written
// in international form (+44 20 7946 0958) and North American national forms ((415) 555-2671,
// 415-555-2671). Only numbers valid for their country's numbering plan count, so dates, version
// strings and order numbers do not.
//
// The library's scan costs tens of microseconds per run of digits and slows down on long runs, so
// it reads only runs that could be a phone number, at most MAX_RUN characters long and at most
// MAX_VALIDATED of them per text. Past that (a pasted table of numbers) numbers are recognised by
// their shape alone, which keeps a hostile prompt from buying seconds of CPU.
import { findPhoneNumbersInText } from 'libphonenumber-js/max';
import { type Finding, matchesOf } from './types.ts';

/**
 * A run of digits and the separators people write between them. Without a "+" it can only be a
 * North American national number, which has at least 10 digits; international ones have 7 or more.
 */
const CANDIDATE = /[+(]?\d[\d \t().\-/]{5,}\d/g;
const MAX_VALIDATED = 1000;
/** Longer runs (tables of digits) are not handed to the library: its scan slows down on them. */
const MAX_RUN = 64;
/** The shapes counted without validation: in long runs, and once the budget is spent. */
const SHAPE =
  /(?<![\d+])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,5}\d{2,4}|\(?[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4})(?!\d)/g;

export function findPhones(text: string): Finding[] {
  const out: Finding[] = [];
  let validated = 0;
  for (const m of matchesOf(CANDIDATE, text)) {
    const run = m[0];
    const digits = run.replace(/\D/g, '').length;
    if (digits < (run.includes('+') ? 7 : 10)) continue;
    if (run.length > MAX_RUN || validated++ >= MAX_VALIDATED) {
      for (const s of matchesOf(SHAPE, run)) {
        out.push({ type: 'phone', start: m.index + s.index, end: m.index + s.index + s[0].length });
      }
      continue;
    }
    for (const f of findPhoneNumbersInText(run, { defaultCountry: 'US' })) {
      out.push({ type: 'phone', start: m.index + f.startsAt, end: m.index + f.endsAt });
    }
  }
  return out;
}
