// The response cache's memory: entries by key, least recently used evicted first, bounded by the
// bytes of bodies and headers it holds. One store per data-plane process; it outlives snapshots
// (entries of routes that no longer cache simply age out).
import type CachePolicy from 'http-cache-semantics';

export interface CachedResponse {
  policy: CachePolicy;
  status: number;
  body: Buffer;
  /** The Vary-relevant request header values it was stored for, joined (see cache.ts). */
  variant: string;
  bytes: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

/** Variants of one URL (one per distinct Vary header values), at most this many kept. */
const MAX_VARIANTS = 8;

export type CacheLookup = 'hit' | 'miss' | 'revalidated';

export class ResponseCacheStore {
  readonly maxBytes: number;
  /** Called for every cacheable request (set by the metrics). */
  onLookup: ((result: CacheLookup) => void) | undefined;
  /** Map order is recency order: re-inserting on use keeps the eviction end at the front. */
  readonly #entries = new Map<string, CachedResponse[]>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get(key: string): CachedResponse[] | undefined {
    const variants = this.#entries.get(key);
    if (variants) {
      this.#entries.delete(key);
      this.#entries.set(key, variants);
    }
    return variants;
  }

  set(key: string, entry: CachedResponse): void {
    if (entry.bytes > this.maxBytes) return;
    const variants = (this.#entries.get(key) ?? []).filter((v) => {
      const keep = v.variant !== entry.variant;
      if (!keep) this.#bytes -= v.bytes;
      return keep;
    });
    variants.unshift(entry);
    while (variants.length > MAX_VARIANTS) this.#bytes -= variants.pop()!.bytes;
    this.#entries.delete(key);
    this.#entries.set(key, variants);
    this.#bytes += entry.bytes;
    for (const [oldest, list] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      for (const v of list) this.#bytes -= v.bytes;
    }
  }

  delete(key: string): void {
    const variants = this.#entries.get(key);
    if (!variants) return;
    this.#entries.delete(key);
    for (const v of variants) this.#bytes -= v.bytes;
  }

  stats(): CacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, maxBytes: this.maxBytes };
  }
}
