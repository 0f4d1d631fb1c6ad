// Calendar periods in a time zone: the day, ISO week (from Monday) or month that contains an
// instant, as the UTC instants it starts and ends at, with an id that names it in store keys.
// Built on Intl (the runtime's tz database), so daylight-saving days are 23 or 25 hours long.

export type Period = 'day' | 'week' | 'month';

export interface PeriodWindow {
  /** `2026-11-25` (day), `2026-11-23/P1W` (week starting that Monday) or `2026-11` (month). */
  id: string;
  /** Epoch ms of the first instant of the period. */
  start: number;
  /** Epoch ms of the first instant of the next period. */
  end: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localTime(instant: number, timeZone: string): LocalTime {
  const out: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return out as unknown as LocalTime;
}

/** Local time minus UTC at `instant`, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  const t = localTime(instant, timeZone);
  const asUTC = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUTC - Math.floor(instant / 1000) * 1000;
}

/** The UTC instant of local midnight starting the given (proleptic, normalised) date. */
function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - offsetAt(guess, timeZone);
  // Across a daylight-saving change the offset at the result differs from the guess's.
  return guess - offsetAt(first, timeZone);
}

const pad = (n: number) => String(n).padStart(2, '0');

export function periodWindow(period: Period, timeZone: string, now: number): PeriodWindow {
  const t = localTime(now, timeZone);
  if (period === 'month') {
    return {
      id: `${t.year}-${pad(t.month)}`,
      start: localMidnight(t.year, t.month, 1, timeZone),
      end: localMidnight(t.year, t.month + 1, 1, timeZone),
    };
  }
  if (period === 'day') {
    return {
      id: `${t.year}-${pad(t.month)}-${pad(t.day)}`,
      start: localMidnight(t.year, t.month, t.day, timeZone),
      end: localMidnight(t.year, t.month, t.day + 1, timeZone),
    };
  }
  // ISO weeks start on Monday: getUTCDay of the local date (0 = Sunday) → days since Monday.
  const sinceMonday = (new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(t.year, t.month - 1, t.day - sinceMonday));
  const [y, m, d] = [monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate()];
  return {
    id: `${y}-${pad(m)}-${pad(d)}/P1W`,
    start: localMidnight(y, m, d, timeZone),
    end: localMidnight(y, m, d + 7, timeZone),
  };
}
