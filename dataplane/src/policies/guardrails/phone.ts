// Phone numbers, found and validated with libphonenumber-js's full metadata: any number written
// in international form (+44 20 7946 0958) and North American national forms ((415) 555-2671,
// 415-555-2671). Only numbers valid for their country's numbering plan count, so dates, version
// strings and order numbers do not.
import { findPhoneNumbersInText } from 'libphonenumber-js/max';
import type { Finding } from './types.ts';

/** Digits a phone number needs at least; shorter digit runs cannot be one. */
const HAS_DIGIT_RUN = /\d[\d\s().-]{5,}\d/;

export function findPhones(text: string): Finding[] {
  if (!HAS_DIGIT_RUN.test(text)) return [];
  return findPhoneNumbersInText(text, { defaultCountry: 'US' }).map((f) => ({
    type: 'phone',
    start: f.startsAt,
    end: f.endsAt,
  }));
}
