// Every detector family against text that must be found (with the exact span) and near-misses
// that must not: the checksums, reserved ranges and formats that tell real data from look-alikes.

import { luhnValid } from '../../../src/policies/guardrails/card.ts';
import { DETECTORS, detect, mask, type PIIType } from '../../../src/policies/guardrails/index.ts';
import { phoneFinder } from '../../../src/policies/guardrails/phone.ts';
import { entropy } from '../../../src/policies/guardrails/secrets.ts';

/** What `type` finds in `text`, as the matched substrings. */
function found(type: PIIType, text: string): string[] {
  return DETECTORS[type](text).map((f) => text.slice(f.start, f.end));
}

const JWT_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const JWT_PAYLOAD = Buffer.from(JSON.stringify({ sub: '1234567890', name: 'Jo' })).toString('base64url');
const JWT = `${JWT_HEADER}.${JWT_PAYLOAD}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
const NOT_A_JWT_HEADER = Buffer.from(JSON.stringify({ typ: 'text' })).toString('base64url');

type Case = [name: string, text: string, expected: string[]];

const cases: Record<PIIType, { positive: Case[]; negative: Case[] }> = {
  email: {
    positive: [
      ['a plain address', 'write to jane.doe@example.com today', ['jane.doe@example.com']],
      [
        'plus tags and subdomains',
        'cc: ops+alerts@mail.eu.example.co.uk.',
        ['ops+alerts@mail.eu.example.co.uk'],
      ],
      ['two addresses', 'a@b.io and c_d@e-f.org', ['a@b.io', 'c_d@e-f.org']],
    ],
    negative: [
      ['a handle', 'ping @jane on chat', []],
      ['a host without a top-level domain', 'ssh root@localhost', []],
      ['an npm scope', 'install @types/node@24', []],
      ['a numeric top-level label', 'user@10.0.0.1', []],
    ],
  },
  phone: {
    positive: [
      ['an international UK number', 'call +44 20 7946 0958 now', ['+44 20 7946 0958']],
      ['an international French mobile', 'portable: +33 6 12 34 56 78', ['+33 6 12 34 56 78']],
      ['a US number in national form', 'office (415) 555-2671', ['(415) 555-2671']],
      ['a US number with dashes', 'fax 202-555-0143', ['202-555-0143']],
      [
        'a number in a long run of digits, by its shape',
        `row ${'1 2 3 4 5 6 7 8 9 0 '.repeat(5)}(415) 555-2671`,
        ['(415) 555-2671'],
      ],
    ],
    negative: [
      ['a date', 'released on 2024-01-15 at 10:30', []],
      ['version strings', 'upgrade from 1.2.3 to 10.0.19045', []],
      ['an order number', 'order 12345678 shipped', []],
      ['an impossible national number', 'call 123-456-7890', []],
      ['a long run of spaced digits', `${'1 2 3 4 5 6 7 8 9 0 '.repeat(1000)}`, []],
    ],
  },
  creditCard: {
    positive: [
      ['a Visa test number', 'card 4111111111111111 exp 12/29', ['4111111111111111']],
      ['a Mastercard number in groups', 'pay with 5555 5555 5555 4444', ['5555 5555 5555 4444']],
      ['an Amex number with dashes', 'amex 3782-822463-10005', ['3782-822463-10005']],
      ['a 2-series Mastercard', '2223003122003222', ['2223003122003222']],
    ],
    negative: [
      ['a number failing the Luhn check', 'card 4111111111111112', []],
      ['a Luhn-valid number without a card prefix', 'ref 1234567812345670', []],
      ['too few digits', 'card 411111111111', []],
      ['a phone-like digit run', 'tel 0049 30 1234567', []],
    ],
  },
  ssn: {
    positive: [
      ['a dashed SSN', 'SSN 123-45-6789 on file', ['123-45-6789']],
      ['a spaced SSN', 'ssn: 078 05 1121', ['078 05 1121']],
    ],
    negative: [
      ['area 000', '000-12-3456', []],
      ['area 666', '666-12-3456', []],
      ['area 9xx (never issued)', '912-34-5678', []],
      ['group 00', '123-00-4567', []],
      ['serial 0000', '123-45-0000', []],
      ['the voided advertising number', '078-05-1120', []],
      ['mixed separators', '123-45 6789', []],
      ['a date', '2024-01-15', []],
      ['a longer dashed number', '1234-56-7890', []],
    ],
  },
  iban: {
    positive: [
      ['a compact German IBAN', 'IBAN DE89370400440532013000.', ['DE89370400440532013000']],
      ['a grouped British IBAN', 'to GB29 NWBK 6016 1331 9268 19 please', ['GB29 NWBK 6016 1331 9268 19']],
      [
        'a grouped IBAN followed by capitals',
        'FR14 2004 1010 0505 0001 3M02 606 NOW',
        ['FR14 2004 1010 0505 0001 3M02 606'],
      ],
    ],
    negative: [
      ['a wrong mod-97 checksum', 'IBAN DE89370400440532013001', []],
      ['the wrong length for its country', 'IBAN DE8937040044053201300', []],
      ['an unknown country', 'IBAN QQ89370400440532013000', []],
      ['a product code', 'part AB12CDEFGHIJKLMNOP', []],
    ],
  },
  ipAddress: {
    positive: [
      ['an IPv4 address', 'from 192.168.1.20, port 22', ['192.168.1.20']],
      ['an IPv6 address', 'host 2001:db8::8a2e:370:7334 is up', ['2001:db8::8a2e:370:7334']],
    ],
    negative: [
      ['an out-of-range quad', 'build 300.1.2.3', []],
      ['a version with a v', 'release v1.2.3.4', []],
      ['a five-part version', 'version 1.2.3.4.5', []],
      ['a time of day', 'at 10:30:00 sharp', []],
    ],
  },
  nationalId: {
    positive: [
      ['a US SSN', 'SSN 123-45-6789', ['123-45-6789']],
      ['a UK National Insurance number', 'NI number JG 10 37 59 A', ['JG 10 37 59 A']],
      ['a compact UK NINO', 'nino AB123456D', ['AB123456D']],
      ['a Spanish DNI', 'DNI 12345678Z', ['12345678Z']],
      ['a Spanish NIE', 'NIE X1234567L', ['X1234567L']],
    ],
    negative: [
      ['a DNI with the wrong check letter', 'DNI 12345678A', []],
      ['a NIE with the wrong check letter', 'NIE X1234567A', []],
      ['a NINO with a never-allocated prefix', 'GB123456A', []],
      ['a NINO with a forbidden first letter', 'DA123456A', []],
      ['the QQ example prefix HMRC never allocates', 'QQ 12 34 56 C', []],
      ['a NINO with a suffix beyond D', 'AB123456E', []],
      ['an SSN in a reserved range', '666-12-3456', []],
    ],
  },
  secret: {
    positive: [
      [
        'an OpenAI project key',
        'key=sk-proj-AbCdEf1234567890GhIjKlMnOp',
        ['sk-proj-AbCdEf1234567890GhIjKlMnOp'],
      ],
      [
        'an Anthropic key',
        'sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345',
        ['sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345'],
      ],
      ['an AWS access key id', 'aws AKIAIOSFODNN7EXAMPLE here', ['AKIAIOSFODNN7EXAMPLE']],
      [
        'a GitHub token',
        'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
        ['ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'],
      ],
      [
        'a Slack bot token',
        'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
        ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
      ],
      ['a JWT', `Bearer ${JWT}`, [JWT]],
      [
        'a prefixed high-entropy token',
        'token tg_live_9fK2mQ7xL4pR8sV1nB6cZ3hJ5wT0yD',
        ['tg_live_9fK2mQ7xL4pR8sV1nB6cZ3hJ5wT0yD'],
      ],
    ],
    negative: [
      ['a short sk- word', 'use sk-learn for that', []],
      ['AKIA with too few characters', 'AKIA1234', []],
      [
        'a three-part base64url string whose header is not a JWS header',
        `${NOT_A_JWT_HEADER}.${JWT_PAYLOAD}.abcdefgh`,
        [],
      ],
      ['a prefixed counter (low entropy, digits only)', 'id order_000000000000000000000000001', []],
      ['a long snake_case identifier', 'call get_user_profile_settings_for_account_owner', []],
      ['a version string', 'node v24.11.1 and 1.2.3-beta.4', []],
      ['a UUID', '123e4567-e89b-12d3-a456-426614174000', []],
    ],
  },
};

describe.each(Object.keys(cases) as PIIType[])('%s detector', (type) => {
  it.each(cases[type].positive)('finds %s', (_name, text, expected) => {
    expect(found(type, text)).toEqual(expected);
  });
  it.each(cases[type].negative)('does not find %s', (_name, text, expected) => {
    expect(found(type, text)).toEqual(expected);
  });
});

describe('phone regions', () => {
  const european = phoneFinder(['GB', 'DE']);
  const spans = (text: string) => european(text).map((f) => text.slice(f.start, f.end));

  it('finds the national formats of the configured countries', () => {
    expect(spans('London 020 7946 0958, Berlin 030 901820')).toEqual(['020 7946 0958', '030 901820']);
  });

  it('still finds international numbers', () => {
    expect(spans('Paris +33 6 12 34 56 78')).toEqual(['+33 6 12 34 56 78']);
  });

  it('does not find those national formats by default', () => {
    expect(found('phone', 'London 020 7946 0958')).toEqual([]);
  });

  it('ignores unknown country codes and falls back to North America', () => {
    const text = 'office (415) 555-2671';
    expect(phoneFinder(['XX'])(text).map((f) => text.slice(f.start, f.end))).toEqual(['(415) 555-2671']);
  });
});

describe('checks', () => {
  it('computes the Luhn check digit', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });

  it('scores random keys far above words in entropy', () => {
    expect(entropy('9fK2mQ7xL4pR8sV1nB6cZ3hJ5wT0yD')).toBeGreaterThan(4.5);
    expect(entropy('aaaaaaaabbbbbbbb')).toBeLessThan(1.5);
  });
});

describe('detect and mask', () => {
  it('replaces each finding with its placeholder and keeps the rest of the text', () => {
    const text = 'Mail jane@example.com, card 4111 1111 1111 1111, thanks';
    const findings = detect(text, ['email', 'creditCard']);
    expect(mask(text, findings)).toBe('Mail <EMAIL>, card <CREDIT_CARD>, thanks');
  });

  it('masks overlapping findings once, keeping the one that starts first', () => {
    const text = 'SSN 123-45-6789';
    const findings = detect(text, ['ssn', 'nationalId']);
    expect(findings).toHaveLength(1);
    expect(mask(text, findings)).toMatch(/^SSN <(SSN|NATIONAL_ID)>$/);
  });

  it('leaves text without findings as it is', () => {
    expect(detect('nothing to see here, version 1.2.3', ['email', 'phone', 'secret'])).toEqual([]);
  });
});
