// What every detector returns: where in a text it found something, and of what kind. Offsets are
// UTF-16 indices into the text searched (end exclusive), so masking can splice without re-searching.
import type { GuardrailPIITypeIR } from '@tollgate/snapshot';

export type PIIType = GuardrailPIITypeIR;

export interface Finding {
  type: PIIType;
  start: number;
  end: number;
}

/** A detector family: finds every occurrence of its kind in a text. Compiled once, no per-call regex. */
export type Detector = (text: string) => Finding[];

/** All matches of a global regex, as [start, end, match] (lastIndex reset, so the regex is reusable). */
export function* matchesOf(regex: RegExp, text: string): Generator<RegExpExecArray> {
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0] === '') regex.lastIndex++;
    yield m;
  }
}
