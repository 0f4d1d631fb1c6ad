// Policy ipFilter: CIDR allow/deny lists on the client address, IPv4 and IPv6, compiled once per
// snapshot into node:net BlockLists (address lookups without per-request parsing of the rules).
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IPFilterIR } from '@tollgate/snapshot';

/** True when the address may pass. */
export type IPFilter = (address: string | undefined) => boolean;

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const slash = cidr.indexOf('/');
    const address = slash === -1 ? cidr : cidr.slice(0, slash);
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    const prefix = slash === -1 ? (family === 'ipv6' ? 128 : 32) : Number(cidr.slice(slash + 1));
    if (!isIPv4(address) && !isIPv6(address)) throw new Error(`ipFilter: "${cidr}" is not a CIDR block`);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** Deny wins over allow; with an allow list, addresses outside it (and unknown ones) are refused. */
export function compileIPFilter(ir: IPFilterIR): IPFilter {
  const allow = ir.allow?.length ? blockList(ir.allow) : undefined;
  const deny = ir.deny?.length ? blockList(ir.deny) : undefined;
  return (address) => {
    if (address === undefined) return allow === undefined;
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (deny?.check(address, family)) return false;
    return allow === undefined || allow.check(address, family);
  };
}
