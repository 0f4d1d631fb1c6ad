// Payment card numbers: 13–19 digits, optionally grouped by single spaces or dashes, with an
// issuer prefix card networks use (Visa 4, Mastercard 51–55 and 2221–2720, Amex 34/37, Diners
// 30/36/38, Discover/UnionPay 6, JCB 35) and a valid Luhn check digit.
import { type Finding, matchesOf } from './types.ts';

const CANDIDATE = /(?<![\d-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])/g;
const ISSUER = /^(?:4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|3(?:0[0-5]|[68])|6|35)/;

export function findCards(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(CANDIDATE, text)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19) continue;
    if (!ISSUER.test(digits) || !luhnValid(digits)) continue;
    out.push({ type: 'creditCard', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** The Luhn (mod 10) check every card number carries in its last digit. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}
