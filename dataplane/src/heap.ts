// Gives back the memory start-up took. Loading ~170 modules and compiling the first snapshot
// allocates far more than it keeps, and V8 grows the young generation to its maximum on the way
// (every object of that phase survives, which is V8's signal to grow it); an idle process then
// keeps those pages (2 × 16 MiB) resident, and with them about a third of its RSS. One
// memory-reducing collection after the first snapshot is applied (and after the tokenizer has
// loaded) shrinks the young generation back and returns the pages: −20 to −35 MiB RSS for an idle
// data plane, for one pause of ~70 ms (two full collections at 1,000 routes) as it becomes ready.
// Under load the young generation grows again as V8 sees fit (a smaller maximum,
// `--max-semi-space-size`, costs CPU per request).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GarbageCollector = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let collector: GarbageCollector | undefined;

/** V8's collector, as `--expose-gc` offers it, without exposing `gc` to the application's globals. */
function garbageCollector(): GarbageCollector {
  if (collector) return collector;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    collector = exposed as GarbageCollector;
  } else {
    // The flag applies to contexts created while it is set: one throwaway context gets `gc`.
    setFlagsFromString('--expose-gc');
    try {
      collector = runInNewContext('gc') as GarbageCollector;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return collector;
}

/**
 * A full, memory-reducing collection (what V8 does under memory pressure): shrinks the young
 * generation to its minimum and releases free pages to the OS. Synchronous; for moments after a
 * burst of one-off work, not for the request path.
 */
export function compactHeap(): void {
  garbageCollector()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** Compacts the heap once `work` has settled, on a later turn of the event loop. */
export function compactHeapAfter(work: Promise<unknown>): void {
  const run = (): void => {
    setImmediate(compactHeap);
  };
  work.then(run, run);
}
