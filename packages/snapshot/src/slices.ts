// Long snapshot work (decoding a 10,000-route payload, compiling a generation from it) written as
// generators that yield between slices of a few milliseconds: run to the end at once, or with a
// turn of the event loop between slices so that requests keep being served meanwhile.
import { performance } from 'node:perf_hooks';

/** Tells a loop when it has worked for `sliceMs` since its last pause (checking the clock sparingly). */
export class SliceClock {
  readonly #sliceMs: number;
  #start = performance.now();
  /** Set when `due` said to yield: the next check starts a new slice (the pause is not work). */
  #paused = false;

  constructor(sliceMs: number) {
    this.#sliceMs = sliceMs;
  }

  /** True when the loop should yield now; `step` counts its iterations (the clock is read every 64). */
  due(step: number): boolean {
    return (step & 63) === 63 && this.dueNow();
  }

  /** `due` for loops whose every iteration is expensive (parsing, validating): reads the clock now. */
  dueNow(): boolean {
    if (this.#sliceMs === Number.POSITIVE_INFINITY) return false;
    const now = performance.now();
    if (this.#paused) {
      this.#paused = false;
      this.#start = now;
      return false;
    }
    if (now - this.#start < this.#sliceMs) return false;
    this.#paused = true;
    return true;
  }
}

/** Runs a sliced computation to its end without pausing. */
export function runToEnd<R>(steps: Generator<void, R>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs a sliced computation with a turn of the event loop (setImmediate) between slices. */
export async function runInSlices<R>(steps: Generator<void, R>): Promise<R> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
