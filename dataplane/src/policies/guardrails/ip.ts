// IP addresses: dotted-quad IPv4 and IPv6, validated by node:net. Version strings are not
// addresses: a quad preceded by "v" or a dot, or followed by another ".<digit>", is skipped, and
// times such as 10:30:00 are not IPv6.
//
// Linear in the text: every quantifier is bounded (an IPv6 address has at most 39 characters), so
// each starting position costs a bounded amount.
import { isIPv4, isIPv6 } from 'node:net';
import { type Finding, matchesOf } from './types.ts';

const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.\d)(?![\w])/g;
const IPV6 =
  /(?<![\w:.])(?=[0-9A-Fa-f:]{0,38}[0-9A-Fa-f])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])/g;

export function findIPs(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of matchesOf(IPV4, text)) {
    if (isIPv4(m[0])) out.push({ type: 'ipAddress', start: m.index, end: m.index + m[0].length });
  }
  if (text.includes(':')) {
    for (const m of matchesOf(IPV6, text)) {
      if (isIPv6(m[0])) out.push({ type: 'ipAddress', start: m.index, end: m.index + m[0].length });
    }
  }
  return out;
}
