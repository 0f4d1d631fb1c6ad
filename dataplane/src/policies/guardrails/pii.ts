// The PII and secret detectors by type, and the placeholders masking puts in their place.
import { findCards } from './card.ts';
import { findEmails } from './email.ts';
import { findIBANs } from './iban.ts';
import { findIPs } from './ip.ts';
import { findNationalIDs, findSSNs } from './national-id.ts';
import { findPhones } from './phone.ts';
import { findSecrets } from './secrets.ts';
import { type DetectBudget, type Detector, type Finding, newBudget, type PIIType } from './types.ts';

export const DETECTORS: Readonly<Record<PIIType, Detector>> = {
  email: findEmails,
  phone: findPhones,
  creditCard: findCards,
  ssn: findSSNs,
  iban: findIBANs,
  ipAddress: findIPs,
  nationalId: findNationalIDs,
  secret: findSecrets,
};

export const PLACEHOLDERS: Readonly<Record<PIIType, string>> = {
  email: '<EMAIL>',
  phone: '<PHONE>',
  creditCard: '<CREDIT_CARD>',
  ssn: '<SSN>',
  iban: '<IBAN>',
  ipAddress: '<IP_ADDRESS>',
  nationalId: '<NATIONAL_ID>',
  secret: '<SECRET>',
};

/**
 * Findings of `types` in `text`, sorted, without overlaps: where two overlap the one starting
 * first (then the longer) wins, so a phone-looking part of a card number is masked once, as a card.
 * Secrets and cards come first in the detector order because their matches are the most specific.
 */
export function detect(
  text: string,
  types: readonly PIIType[],
  detectors: Readonly<Record<PIIType, Detector>> = DETECTORS,
  budget: DetectBudget = newBudget(),
): Finding[] {
  const all: Finding[] = [];
  // A loop, not push(...found): a text can hold more findings than a call has room for arguments.
  for (const type of types) for (const f of detectors[type](text, budget)) all.push(f);
  if (all.length < 2) return all;
  all.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Finding[] = [];
  let reached = -1;
  for (const f of all) {
    if (f.start < reached) continue;
    out.push(f);
    reached = f.end;
  }
  return out;
}

/** The text with each finding replaced by its type's placeholder. */
export function mask(text: string, findings: readonly Finding[]): string {
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start) + PLACEHOLDERS[f.type];
    at = f.end;
  }
  return out + text.slice(at);
}
