// Per-virtual-host path index: an exact-path map, a segment trie for prefixes and the precompiled
// regexes. A lookup touches only the entries whose path can match, and among those returns the
// first one in snapshot order whose other conditions hold.
import { anchoredRegex } from './conditions.ts';
import type { UserRegex } from './user-regex.ts';

/** Counts the work of a lookup, so tests can assert that it does not scan linearly. */
export interface MatchTrace {
  /** Entries whose conditions were evaluated. */
  examined: number;
  /** Path regexes tested. */
  regexTests: number;
}

interface TrieNode {
  children: Map<string, TrieNode> | undefined;
  /** Indexes of PathPrefix entries ending at this node, ascending. */
  entries: number[];
}

const NO_ENTRIES: readonly number[] = [];

/** Path segments of a prefix or a request path; empty segments (from "//" or a trailing "/") are dropped. */
export function pathSegments(path: string): string[] {
  const segments: string[] = [];
  let start = 1;
  for (;;) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    if (end > start) segments.push(path.slice(start, end));
    if (slash === -1) return segments;
    start = slash + 1;
  }
}

export class PathIndex {
  readonly #exact = new Map<string, number[]>();
  readonly #prefixRoot: TrieNode = { children: undefined, entries: [] };
  readonly #regexes: Array<{ regex: UserRegex; index: number }> = [];

  /** Entries must be added in ascending index order. */
  add(index: number, type: 'Exact' | 'PathPrefix' | 'RegularExpression', value: string): void {
    if (type === 'Exact') {
      const list = this.#exact.get(value);
      if (list) list.push(index);
      else this.#exact.set(value, [index]);
    } else if (type === 'RegularExpression') {
      this.#regexes.push({ regex: anchoredRegex(value), index });
    } else {
      let node = this.#prefixRoot;
      for (const segment of pathSegments(value)) {
        node.children ??= new Map();
        let child = node.children.get(segment);
        if (!child) {
          child = { children: undefined, entries: [] };
          node.children.set(segment, child);
        }
        node = child;
      }
      node.entries.push(index);
    }
  }

  /**
   * The lowest entry index whose path matches and for which `holds(index)` is true, or -1.
   * Each candidate list is ascending, so a list stops at its first success or at the best so far.
   */
  find(path: string, holds: (index: number) => boolean, trace?: MatchTrace): number {
    let best = -1;
    const consider = (list: readonly number[]): void => {
      for (const index of list) {
        if (best !== -1 && index >= best) return;
        if (trace) trace.examined++;
        if (holds(index)) {
          best = index;
          return;
        }
      }
    };

    consider(this.#exact.get(path) ?? NO_ENTRIES);

    for (const { regex, index } of this.#regexes) {
      if (best !== -1 && index >= best) break;
      if (trace) trace.regexTests++;
      if (!regex.test(path)) continue;
      if (trace) trace.examined++;
      if (holds(index)) {
        best = index;
        break;
      }
    }

    // Walk down as far as the path's segments go, then try the longest prefixes first: they come
    // earliest in snapshot order, so the shorter ones usually stop at their first index.
    const nodes: TrieNode[] = [this.#prefixRoot];
    let node: TrieNode | undefined = this.#prefixRoot;
    for (const segment of pathSegments(path)) {
      node = node.children?.get(segment);
      if (!node) break;
      nodes.push(node);
    }
    for (let i = nodes.length - 1; i >= 0; i--) consider(nodes[i]!.entries);

    return best;
  }
}
