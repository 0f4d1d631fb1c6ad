// Steady load for tests that change configuration under traffic: loops that send back to back
// until stopped, so a test can record what every answer was while it applies a change.

export interface Load {
  /** Ends every loop after its request in flight, and waits for them. */
  stop(): Promise<void>;
}

/**
 * `loops` loops, each calling `send(loop, n)` for its n-th request back to back until stop().
 * `send` records its own outcome (and catches what it expects to fail).
 */
export function startLoad(loops: number, send: (loop: number, n: number) => Promise<void>): Load {
  let running = true;
  const all = Array.from({ length: loops }, async (_, loop) => {
    for (let n = 0; running; n++) await send(loop, n);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(all);
    },
  };
}
