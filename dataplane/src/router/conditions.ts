// The non-path conditions of a route entry (method, headers, query parameters, model), compiled
// once per snapshot: regular expressions are built here, never per request.
import type { RouteMatchIR, StringMatchIR } from '@tollgate/snapshot';
import { globMatcher } from './glob.ts';
import { type UserRegex, wholeValueRegex } from './user-regex.ts';

/** What the router needs to know about a request. */
export interface MatchInput {
  /** The Host header (or :authority) as received; normalised by the router. */
  host: string | undefined;
  /** The path without the query string. */
  path: string;
  method: string;
  /** Lowercased header names, as node:http gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw query string without "?"; parsed only when an entry has query conditions. */
  query?: string;
  /**
   * The requested model, for AI traffic. Entries with a model condition check it when given; an
   * absent model leaves model conditions unchecked (the proxy looks up once without the model, and
   * reads the body for it only when the entry found is an AI route or has a model condition).
   */
  model?: string;
}

type StringTest = (value: string) => boolean;

interface NamedTest {
  name: string;
  test: StringTest;
}

export interface CompiledConditions {
  readonly method: string | undefined;
  readonly headers: readonly NamedTest[];
  readonly query: readonly NamedTest[];
  readonly model: StringTest | undefined;
}

/** Lazily parsed query, shared by every candidate of one lookup. */
export class QueryView {
  readonly #raw: string | undefined;
  #params: URLSearchParams | undefined;

  constructor(raw: string | undefined) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    if (!this.#raw) return null;
    this.#params ??= new URLSearchParams(this.#raw);
    return this.#params.get(name);
  }
}

/** `modelAliases`: other names of the model an Exact model match names (its aliases at the entry's providers). */
export function compileConditions(
  match: RouteMatchIR,
  modelAliases: readonly string[] = [],
): CompiledConditions {
  return {
    method: match.method?.toUpperCase(),
    headers: match.headers.map((h) => ({ name: h.name.toLowerCase(), test: compileStringMatch(h) })),
    query: match.queryParams.map((q) => ({ name: q.name, test: compileStringMatch(q) })),
    model: match.model ? compileModelMatch(match.model, modelAliases) : undefined,
  };
}

export function conditionsHold(conditions: CompiledConditions, input: MatchInput, query: QueryView): boolean {
  if (conditions.method !== undefined && conditions.method !== input.method) return false;
  for (const { name, test } of conditions.headers) {
    const raw = input.headers[name];
    if (raw === undefined) return false;
    // Repeated headers are compared as one comma-joined value, the way node:http joins most of them.
    if (!test(typeof raw === 'string' ? raw : raw.join(', '))) return false;
  }
  for (const { name, test } of conditions.query) {
    const value = query.get(name);
    if (value === null || !test(value)) return false;
  }
  if (conditions.model && input.model !== undefined && !conditions.model(input.model)) return false;
  return true;
}

/**
 * Regular expressions match the whole value (anchored), like path regexes. They run in the
 * linear-time engine of ./user-regex.ts, so no header or query value can make them backtrack.
 */
export function anchoredRegex(source: string): UserRegex {
  return wholeValueRegex(source);
}

function compileStringMatch(match: StringMatchIR): StringTest {
  if (match.type === 'Exact') {
    const expected = match.value;
    return (value) => value === expected;
  }
  const regex = anchoredRegex(match.value);
  return (value) => regex.test(value);
}

function compileModelMatch(
  model: NonNullable<RouteMatchIR['model']>,
  aliases: readonly string[],
): StringTest {
  if (model.type === 'Exact') {
    const expected = model.value;
    if (aliases.length === 0) return (value) => value === expected;
    const names = new Set([expected, ...aliases]);
    return (value) => names.has(value);
  }
  // Glob: "*" is any run of characters, everything else is literal (see ./glob.ts: no regex).
  return globMatcher(model.value);
}
