// What every detector returns: where in a text it found something, and of what kind. Offsets are
// UTF-16 indices into the text searched (end exclusive), so masking can splice without re-searching.
import type { GuardrailPIITypeIR } from '@tollgate/snapshot';

export type PIIType = GuardrailPIITypeIR;

export interface Finding {
  type: PIIType;
  start: number;
  end: number;
}

/**
 * What the costly validations of one check (every text of a request, or of a response) may still
 * spend, so that many texts together cost no more than one long one.
 */
export interface DetectBudget {
  /** Runs of digits phone validation may still read with the numbering-plan library. */
  phoneValidations: number;
}

/** Phone validations per check; past them, numbers are recognised by their shape. */
export const PHONE_VALIDATIONS_PER_CHECK = 1000;

export function newBudget(): DetectBudget {
  return { phoneValidations: PHONE_VALIDATIONS_PER_CHECK };
}

/**
 * A detector family: finds every occurrence of its kind in a text. Compiled once, no per-call
 * regex. Linear in the text: one pass, or regexes whose work per starting position is bounded.
 */
export type Detector = (text: string, budget?: DetectBudget) => Finding[];

/** All matches of a global regex, as [start, end, match] (lastIndex reset, so the regex is reusable). */
export function* matchesOf(regex: RegExp, text: string): Generator<RegExpExecArray> {
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0] === '') regex.lastIndex++;
    yield m;
  }
}
