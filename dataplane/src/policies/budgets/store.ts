// Budget counters: per budget key (a budget, who it counts for, and the calendar period) the
// amount spent and the amount reserved by requests in flight. Reserving is all or nothing across
// the budgets of a request; settling turns a reservation into the metered amount. Reservations
// carry an expiry, so a request that never settles (a crashed pod) does not hold a budget forever.
// LocalBudgetStore keeps them in this process; RedisBudgetStore (redis-budget-store.ts) shares them
// between pods with the same behaviour table (test/policies/budget-store-conformance.test.ts).

/** One budget as one request meets it. */
export interface BudgetLine {
  /** Store key: `<policy>/<budget>/<per>=<value>@<period id>`. */
  key: string;
  /** `<policy id>/<budget name>`, for reports. */
  budget: string;
  per: 'consumer' | 'team' | 'tenant';
  /** The consumer id, team or tenant the key counts for ("-" when the caller has none). */
  subject: string;
  unit: 'tokens' | 'cost';
  currency?: string | undefined;
  limit: number;
  /** Epoch ms at which the period ends (the key expires a day later). */
  windowEnd: number;
  /** Most the request can cost, capped at the limit; integer. */
  want: number;
  /** Enforced budgets refuse when there is no room; shadow ones only report. */
  enforce: boolean;
}

export interface BudgetGrant {
  /** False when an enforced budget has no room left: nothing was reserved for any line. */
  allowed: boolean;
  /** Reserved for this request (0 when not allowed). Less than `want` when only part was left. */
  granted: number;
  /** Spent and reserved before this request. */
  spent: number;
  reserved: number;
}

export interface BudgetUsage {
  key: string;
  budget: string;
  per: string;
  subject: string;
  unit: string;
  currency?: string | undefined;
  limit: number;
  spent: number;
  reserved: number;
  windowEnd: number;
}

export interface BudgetStore {
  reserve(holdId: string, lines: readonly BudgetLine[]): BudgetGrant[] | Promise<BudgetGrant[]>;
  /** Drops the hold's reservations and adds `spent[i]` to line i (0 ⇒ a plain release). */
  settle(holdId: string, lines: readonly BudgetLine[], spent: readonly number[]): void | Promise<void>;
  /** Every key of a period that has not ended yet. */
  usage(): BudgetUsage[] | Promise<BudgetUsage[]>;
  close?(): Promise<void>;
}

/** A reservation not settled within this long is dropped (the pod that made it is presumed gone). */
export const HOLD_TTL_MS = 30 * 60 * 1000;
/** Keys outlive their period by this much, so the admin API still shows the period just ended. */
export const KEY_GRACE_MS = 24 * 60 * 60 * 1000;

interface Counter {
  line: BudgetLine;
  spent: number;
  reserved: number;
  holds: Map<string, { amount: number; expires: number }>;
}

export class LocalBudgetStore implements BudgetStore {
  readonly #counters = new Map<string, Counter>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  reserve(holdId: string, lines: readonly BudgetLine[]): BudgetGrant[] {
    const now = this.#now();
    this.#sweep(now);
    const counters = lines.map((line) => this.#counter(line, now));
    const grants = lines.map((line, i) => {
      const c = counters[i]!;
      const room = line.limit - c.spent - c.reserved;
      const granted = line.enforce ? Math.max(0, Math.min(line.want, room)) : line.want;
      return { allowed: !line.enforce || room > 0, granted, spent: c.spent, reserved: c.reserved };
    });
    if (grants.some((g) => !g.allowed)) return grants.map((g) => ({ ...g, allowed: false, granted: 0 }));
    grants.forEach((g, i) => {
      const c = counters[i]!;
      c.reserved += g.granted;
      c.holds.set(holdId, { amount: g.granted, expires: now + HOLD_TTL_MS });
    });
    return grants;
  }

  settle(holdId: string, lines: readonly BudgetLine[], spent: readonly number[]): void {
    const now = this.#now();
    lines.forEach((line, i) => {
      const c = this.#counter(line, now);
      const hold = c.holds.get(holdId);
      if (hold) {
        c.reserved -= hold.amount;
        c.holds.delete(holdId);
      }
      c.spent += spent[i] ?? 0;
    });
  }

  usage(): BudgetUsage[] {
    this.#sweep(this.#now());
    return [...this.#counters.values()].map(({ line, spent, reserved }) => ({
      key: line.key,
      budget: line.budget,
      per: line.per,
      subject: line.subject,
      unit: line.unit,
      ...(line.currency ? { currency: line.currency } : {}),
      limit: line.limit,
      spent,
      reserved,
      windowEnd: line.windowEnd,
    }));
  }

  #counter(line: BudgetLine, now: number): Counter {
    let c = this.#counters.get(line.key);
    if (!c) {
      c = { line, spent: 0, reserved: 0, holds: new Map() };
      this.#counters.set(line.key, c);
    }
    // The latest limit wins: a Policy edit applies to the period under way.
    if (c.line.limit !== line.limit) c.line = line;
    this.#expireHolds(c, now);
    return c;
  }

  #expireHolds(c: Counter, now: number): void {
    for (const [id, hold] of c.holds) {
      if (hold.expires > now) continue;
      c.reserved -= hold.amount;
      c.holds.delete(id);
    }
  }

  /** Forgets keys of periods that ended more than a grace period ago. */
  #sweep(now: number): void {
    for (const [key, c] of this.#counters)
      if (c.line.windowEnd + KEY_GRACE_MS <= now) this.#counters.delete(key);
  }
}
