// One Route match to its snapshot form: defaults filled, PathPrefix normalised, header names
// lowercased, regexes checked and anchored, duplicate header/query names reduced to the first
// (Gateway API), the lists sorted so equal matches have equal JSON (conflict detection relies on it).
import type { HeaderMatch, QueryParamMatch, RouteMatch } from '@tollgate/api';
import type { RouteMatchIR, StringMatchIR } from '@tollgate/snapshot';
import { compareStrings } from './order.ts';
import { anchorRegex, regexProblem } from './regex.ts';
import type { ObjectReport } from './report.ts';

/** The match of a rule that has none: every path. */
export const MATCH_EVERYTHING: RouteMatch = { path: { type: 'PathPrefix', value: '/' } };

/** "/api/" → "/api"; "/" stays "/". */
export function normalizePrefix(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** The snapshot form of `match`, or undefined after rejecting the Route through `report`. */
export function compileMatch(
  match: RouteMatch,
  field: string,
  report: ObjectReport,
): RouteMatchIR | undefined {
  let ok = true;
  const path = compilePath(match, field, report);
  if (!path) ok = false;
  const headers = compileStringMatches(match.headers ?? [], `${field}.headers`, report, (name) =>
    name.toLowerCase(),
  );
  const queryParams = compileStringMatches(
    match.queryParams ?? [],
    `${field}.queryParams`,
    report,
    (name) => name,
  );
  if (!headers || !queryParams || !ok) return undefined;
  const out: RouteMatchIR = { path: path!, headers, queryParams };
  if (match.method) out.method = match.method;
  if (match.model) out.model = { type: match.model.type, value: match.model.value };
  return out;
}

function compilePath(
  match: RouteMatch,
  field: string,
  report: ObjectReport,
): RouteMatchIR['path'] | undefined {
  const type = match.path?.type ?? 'PathPrefix';
  const value = match.path?.value ?? '/';
  const at = `${field}.path.value`;
  if (type === 'RegularExpression') {
    const problem = regexProblem(value);
    if (problem) {
      report.reject('InvalidRegex', `${at}: ${JSON.stringify(value)} ${problem}`);
      return undefined;
    }
    return { type, value: anchorRegex(value) };
  }
  if (!value.startsWith('/')) {
    report.reject('Invalid', `${at}: ${JSON.stringify(value)} must start with "/" for type ${type}`);
    return undefined;
  }
  if (/[?#]/.test(value)) {
    report.reject(
      'Invalid',
      `${at}: ${JSON.stringify(value)} must not contain "?" or "#" (match query parameters with queryParams)`,
    );
    return undefined;
  }
  return { type, value: type === 'PathPrefix' ? normalizePrefix(value) : value };
}

function compileStringMatches(
  matches: readonly (HeaderMatch | QueryParamMatch)[],
  field: string,
  report: ObjectReport,
  normalizeName: (name: string) => string,
): StringMatchIR[] | undefined {
  const byName = new Map<string, StringMatchIR>();
  let ok = true;
  matches.forEach((match, i) => {
    const name = normalizeName(match.name);
    // Gateway API: of several matches on one name, only the first counts.
    if (byName.has(name)) return;
    const type = match.type ?? 'Exact';
    if (type === 'RegularExpression') {
      const problem = regexProblem(match.value);
      if (problem) {
        report.reject('InvalidRegex', `${field}[${i}].value: ${JSON.stringify(match.value)} ${problem}`);
        ok = false;
        return;
      }
      byName.set(name, { type, name, value: anchorRegex(match.value) });
    } else {
      byName.set(name, { type, name, value: match.value });
    }
  });
  if (!ok) return undefined;
  return [...byName.values()].sort((a, b) => compareStrings(a.name, b.name));
}
