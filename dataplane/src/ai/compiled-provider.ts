// An AIProvider compiled once per snapshot: its adapter, the target handed to the adapter, the
// model table (names and aliases → upstream name and prices) and bounded metric labels.
import type { AIProviderIR } from '@tollgate/snapshot';
import { compilePricing, type Pricing } from './metering/pricing.ts';
import { adapterFor } from './providers/registry.ts';
import type { ProviderAdapter, ProviderTarget } from './providers/types.ts';

export interface ResolvedModel {
  /** The name sent upstream. */
  upstream: string;
  pricing: Pricing | undefined;
}

/** Distinct model labels a provider without a model list may produce before they become "other". */
const MAX_OPEN_MODELS = 64;

export class CompiledProvider {
  readonly id: string;
  readonly ir: AIProviderIR;
  /** Undefined for a type this data plane has no adapter for: requests to it are answered 501. */
  readonly adapter: ProviderAdapter | undefined;
  readonly target: ProviderTarget;
  readonly #models = new Map<string, ResolvedModel>();
  readonly #openLabels = new Set<string>();

  /** Throws on a price that is not a decimal (the snapshot is then rejected). */
  constructor(ir: AIProviderIR) {
    this.id = ir.id;
    this.ir = ir;
    this.adapter = adapterFor(ir.type);
    const base = new URL(ir.baseURL);
    this.target = {
      ir,
      basePath: base.pathname.replace(/\/+$/, ''),
      options: ir.options ?? {},
    };
    for (const model of ir.models) {
      const resolved: ResolvedModel = {
        upstream: model.name,
        pricing: model.pricing ? compilePricing(model.pricing) : undefined,
      };
      this.#models.set(model.name, resolved);
      for (const alias of model.aliases) if (!this.#models.has(alias)) this.#models.set(alias, resolved);
    }
  }

  /** Limits enforced by this data plane; undefined ⇒ none. */
  get limits(): AIProviderIR['limits'] {
    return this.ir.limits;
  }

  /** This provider's own deadline for one attempt; undefined ⇒ the route's. */
  get attemptTimeoutMs(): number | undefined {
    return this.ir.timeouts?.requestMs || undefined;
  }

  /** This provider's own connect deadline; undefined ⇒ the connection pool's. */
  get connectTimeoutMs(): number | undefined {
    return this.ir.timeouts?.connectMs || undefined;
  }

  /** Short name for logs and labels: namespace/name. */
  get name(): string {
    return `${this.ir.namespace}/${this.ir.name}`;
  }

  /** The upstream model for a requested name or alias; undefined when the provider lists models and this is not one. */
  resolveModel(name: string): ResolvedModel | undefined {
    if (this.ir.models.length === 0) return { upstream: name, pricing: undefined };
    return this.#models.get(name);
  }

  /** Every name clients may use (models and aliases), for GET /models. */
  modelNames(): string[] {
    return [...this.#models.keys()];
  }

  /** A bounded metric label for an upstream model name. */
  modelLabel(upstream: string): string {
    if (this.ir.models.length > 0) return upstream;
    if (this.#openLabels.has(upstream)) return upstream;
    if (this.#openLabels.size >= MAX_OPEN_MODELS) return 'other';
    this.#openLabels.add(upstream);
    return upstream;
  }
}

export function compileProviders(providers: readonly AIProviderIR[]): Map<string, CompiledProvider> {
  const out = new Map<string, CompiledProvider>();
  for (const ir of providers) {
    try {
      out.set(ir.id, new CompiledProvider(ir));
    } catch (error) {
      throw new Error(`AI provider ${ir.id}: ${(error as Error).message}`, { cause: error });
    }
  }
  return out;
}
