// Budget counters: per budget key (a budget, who it counts for, and the calendar period) the
// amount spent and the amount reserved by requests in flight. Reserving is all or nothing across
// the budgets of a request; settling turns a reservation into the metered amount. Reservations
// carry an expiry, so a request that never settles (a crashed pod) does not hold a budget forever.
// A partial grant (less room than the request may use) may end up spending its whole maximum, so
// a key holds at most one at a time: then whatever the order of settlements, the key never ends
// more than one request's maximum past its limit (docs/policies.md, Budgets).
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
  /**
   * Refused although room was left: the request would only get part of what it may use, and
   * another request of the key holds a partial grant that has not settled yet.
   */
  partialInFlight: boolean;
}

/**
 * Whether a grant is partial: less room than the request may use, or a request that may use the
 * whole limit (its most was capped to the limit, so it may use more).
 */
export function isPartialGrant(line: Pick<BudgetLine, 'want' | 'limit'>, room: number): boolean {
  return room < line.want || line.want >= line.limit;
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
  /** The hold with the key's partial grant, while it has not settled or expired. */
  partialHold: string | undefined;
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
    const partial = lines.map(
      (line, i) =>
        line.enforce && isPartialGrant(line, line.limit - counters[i]!.spent - counters[i]!.reserved),
    );
    const grants = lines.map((line, i) => {
      const c = counters[i]!;
      const room = line.limit - c.spent - c.reserved;
      const granted = line.enforce ? Math.max(0, Math.min(line.want, room)) : line.want;
      const partialInFlight = room > 0 && partial[i]! && c.partialHold !== undefined;
      return {
        allowed: !line.enforce || (room > 0 && !partialInFlight),
        granted,
        spent: c.spent,
        reserved: c.reserved,
        partialInFlight,
      };
    });
    if (grants.some((g) => !g.allowed)) return grants.map((g) => ({ ...g, allowed: false, granted: 0 }));
    grants.forEach((g, i) => {
      const c = counters[i]!;
      c.reserved += g.granted;
      c.holds.set(holdId, { amount: g.granted, expires: now + HOLD_TTL_MS });
      if (partial[i]) c.partialHold = holdId;
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
      if (c.partialHold === holdId) c.partialHold = undefined;
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
      c = { line, spent: 0, reserved: 0, holds: new Map(), partialHold: undefined };
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
      if (c.partialHold === id) c.partialHold = undefined;
    }
  }

  /** Forgets keys of periods that ended more than a grace period ago. */
  #sweep(now: number): void {
    for (const [key, c] of this.#counters)
      if (c.line.windowEnd + KEY_GRACE_MS <= now) this.#counters.delete(key);
  }
}
