// National identity numbers with documented structure, so that arbitrary digit runs do not count:
// - US Social Security numbers, written 123-45-6789 or 123 45 6789: the SSA never issues area
//   000, 666 or 900–999, group 00 or serial 0000 (and the advertising numbers 078-05-1120 and
//   219-09-9999 are void).
// - UK National Insurance numbers (QQ 12 34 56 C): HMRC's prefix rules (no D, F, I, Q, U or V
//   first; no D, F, I, O, Q, U or V second; BG, GB, KN, NK, NT, TN and ZZ never allocated) and a
//   suffix A–D.
// - Spanish DNI (12345678Z) and NIE (X1234567L): the letter is the number's mod-23 check letter.
import { type Finding, matchesOf } from './types.ts';

const SSN = /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g;
const VOID_SSNS = new Set(['078051120', '219099999']);

export function findSSNs(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(SSN, text)) {
    const [, area = '', , group = '', serial = ''] = m;
    if (!ssnValid(area, group, serial)) continue;
    out.push({ type: 'ssn', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  return !VOID_SSNS.has(area + group + serial);
}

const NINO =
  /(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![A-Za-z0-9])/g;
const NINO_NEVER = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

export function findNINOs(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(NINO, text)) {
    if (NINO_NEVER.has(m[1]!)) continue;
    out.push({ type: 'nationalId', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

const DNI = /(?<![A-Za-z0-9])([XYZ]?)(\d{7,8})-?([A-Z])(?![A-Za-z0-9])/g;
const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

export function findSpanishIDs(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(DNI, text)) {
    const [, nie = '', digits = '', letter] = m;
    // DNI: 8 digits; NIE: X/Y/Z (read as 0/1/2) and 7 digits.
    if (nie ? digits.length !== 7 : digits.length !== 8) continue;
    const number = Number(`${nie ? 'XYZ'.indexOf(nie) : ''}${digits}`);
    if (DNI_LETTERS[number % 23] !== letter) continue;
    out.push({ type: 'nationalId', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Every national ID family above, reported as nationalId (SSNs included). */
export function findNationalIDs(text: string): Finding[] {
  return [
    ...findSSNs(text).map((f) => ({ ...f, type: 'nationalId' as const })),
    ...findNINOs(text),
    ...findSpanishIDs(text),
  ];
}
