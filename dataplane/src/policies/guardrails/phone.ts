// Phone numbers, found and validated with libphonenumber-js's full metadata: any number written
// in international form (+44 20 7946 0958), and national forms of the configured countries
// (default US: (415) 555-2671, 415-555-2671; with GB: 020 7946 0958; …). Only numbers valid for
// their country's numbering plan count, so dates, version strings and order numbers do not.
//
// The text is cut into runs (digits and the separators people write between them) by one
// iterative pass, never by a regex whose backtracking grows with the run. The library's scan
// costs tens of microseconds per run and slows down on long runs, so it reads only runs of at
// most MAX_RUN characters, at most MAX_VALIDATED times per check (a budget shared by every text
// of one request). Past that (a pasted table of numbers, a megabyte of digits) numbers are
// recognised by their shape alone, with a scanner whose work per character is bounded; a hostile
// prompt cannot buy seconds of CPU or overflow the stack.
import { type CountryCode, findPhoneNumbersInText, isSupportedCountry } from 'libphonenumber-js/max';
import { type Detector, type Finding, matchesOf, newBudget } from './types.ts';

/** Longer runs (tables of digits) are not handed to the library: its scan slows down on them. */
const MAX_RUN = 64;
/** The North American shape, counted without validation in long runs and once the budget is spent. */
const NATIONAL_SHAPE = /(?<![\d+])\(?[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4}(?!\d)/g;
/** E.164: a country code and subscriber number have at most 15 digits; 7 is the shortest we count. */
const INTERNATIONAL_DIGITS = { min: 7, max: 15 };

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

/** Characters inside a run: digits, blanks, parentheses, dots, dashes and slashes. */
function isRunChar(code: number): boolean {
  return (
    isDigit(code) ||
    code === 32 ||
    code === 9 ||
    code === 40 ||
    code === 41 ||
    code === 46 ||
    code === 45 ||
    code === 47
  );
}

interface Run {
  start: number;
  /** Just past the run's last digit. */
  end: number;
  /** Digits in the run. */
  digits: number;
  international: boolean;
}

/**
 * The runs of `text`: an optional "+" or "(", a digit, then run characters up to the last digit
 * before anything else, with at least 5 characters between the first and last digit. One pass,
 * each character read once.
 */
export function* phoneRuns(text: string): Generator<Run> {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const lead = (c === 43 /* + */ || c === 40) /* ( */ && i + 1 < n && isDigit(text.charCodeAt(i + 1));
    if (!lead && !isDigit(c)) {
      i++;
      continue;
    }
    const start = i;
    const first = lead ? i + 1 : i;
    let digits = 1;
    let lastDigit = first;
    let j = first + 1;
    for (; j < n; j++) {
      const code = text.charCodeAt(j);
      if (!isRunChar(code)) break;
      if (isDigit(code)) {
        digits++;
        lastDigit = j;
      }
    }
    if (lastDigit - first - 1 >= 5) yield { start, end: lastDigit + 1, digits, international: c === 43 };
    // Any later start inside this run reaches the same end with less: nothing to find there.
    i = j;
  }
}

/**
 * An international number written at `start`: "+" then groups of digits, each gap holding at most
 * one blank, dot or dash (parentheses are free). Its end is that of the last whole group that
 * keeps the number within E.164's 15 digits; -1 when fewer than 7 digits are left. One pass over
 * the run.
 */
function internationalShapeEnd(text: string, start: number, end: number): number {
  let digits = 0;
  let accepted = -1;
  let group = 0;
  let groupEnd = -1;
  let gapHasSeparator = false;
  // i === end flushes the last group.
  for (let i = start + 1; i <= end; i++) {
    const code = i < end ? text.charCodeAt(i) : -1;
    if (isDigit(code)) {
      group++;
      groupEnd = i + 1;
      gapHasSeparator = false;
      continue;
    }
    if (group > 0) {
      if (digits + group > INTERNATIONAL_DIGITS.max) break;
      digits += group;
      accepted = groupEnd;
      group = 0;
    }
    if (code === 40 || code === 41) continue;
    if ((code === 32 || code === 46 || code === 45) && !gapHasSeparator) {
      gapHasSeparator = true;
      continue;
    }
    break;
  }
  return digits >= INTERNATIONAL_DIGITS.min ? accepted : -1;
}

/** Numbers in a run recognised by their shape alone. */
function shapesIn(text: string, run: Run, out: Finding[]): void {
  let from = run.start;
  if (run.international) {
    const end = internationalShapeEnd(text, run.start, run.end);
    if (end > 0) {
      out.push({ type: 'phone', start: run.start, end });
      from = end;
    }
  }
  const part = text.slice(from, run.end);
  for (const s of matchesOf(NATIONAL_SHAPE, part)) {
    out.push({ type: 'phone', start: from + s.index, end: from + s.index + s[0].length });
  }
}

/**
 * A detector for international numbers and the national formats of `regions` (unknown codes are
 * left out). North American national numbers have 10 digits; elsewhere 7 can be enough.
 */
export function phoneFinder(regions: readonly string[] = ['US']): Detector {
  const countries = regions.filter((r): r is CountryCode => isSupportedCountry(r));
  if (countries.length === 0) countries.push('US');
  const nationalDigits = countries.every((c) => c === 'US' || c === 'CA') ? 10 : 7;
  return (text, budget = newBudget()) => {
    const out: Finding[] = [];
    for (const run of phoneRuns(text)) {
      if (run.digits < (run.international ? INTERNATIONAL_DIGITS.min : nationalDigits)) continue;
      const regionsToScan = run.international ? countries.slice(0, 1) : countries;
      if (run.end - run.start > MAX_RUN || budget.phoneValidations < regionsToScan.length) {
        shapesIn(text, run, out);
        continue;
      }
      budget.phoneValidations -= regionsToScan.length;
      const candidate = text.slice(run.start, run.end);
      const starts = new Set<number>();
      for (const defaultCountry of regionsToScan) {
        for (const f of findPhoneNumbersInText(candidate, { defaultCountry })) {
          if (starts.has(f.startsAt)) continue;
          starts.add(f.startsAt);
          out.push({ type: 'phone', start: run.start + f.startsAt, end: run.start + f.endsAt });
        }
      }
    }
    return out;
  };
}

/** International numbers and North American national ones. */
export const findPhones: Detector = phoneFinder();
