// Host normalisation and the three host tiers (exact, wildcard by longest suffix, "*").

/** Lowercases and strips the port ("Shop.Example.com:8080" → "shop.example.com", "[::1]:80" → "[::1]"). */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    if (close !== -1) end = close + 1;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 0 && host.charCodeAt(end - 1) === 46 /* . */) end -= 1;
  const bare = end === host.length ? host : host.slice(0, end);
  return bare.toLowerCase();
}

/**
 * Virtual hosts of one kind of key. More than one virtual host may share a hostname (the IR does
 * not forbid it); they are tried in snapshot order.
 */
export class HostTiers<V> {
  readonly #exact = new Map<string, V[]>();
  /** Keyed by the suffix with its leading dot: "*.example.com" → ".example.com". */
  readonly #wildcard = new Map<string, V[]>();
  readonly #any: V[] = [];

  add(hostname: string, vhost: V): void {
    const name = hostname.toLowerCase();
    if (name === '*' || name === '') this.#any.push(vhost);
    else if (name.startsWith('*.')) push(this.#wildcard, name.slice(1), vhost);
    else push(this.#exact, name, vhost);
  }

  /**
   * Calls `visit` on each candidate virtual host in tier order (exact, wildcards from the longest
   * suffix to the shortest, then "*") until it returns something.
   */
  find<R>(host: string, visit: (vhost: V) => R | undefined): R | undefined {
    const exact = this.#exact.get(host);
    if (exact) {
      for (const vhost of exact) {
        const found = visit(vhost);
        if (found !== undefined) return found;
      }
    }
    if (this.#wildcard.size > 0) {
      // Starting at 1 keeps at least one leading label: "*.example.com" never matches "example.com".
      for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        const list = this.#wildcard.get(host.slice(dot));
        if (!list) continue;
        for (const vhost of list) {
          const found = visit(vhost);
          if (found !== undefined) return found;
        }
      }
    }
    for (const vhost of this.#any) {
      const found = visit(vhost);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
