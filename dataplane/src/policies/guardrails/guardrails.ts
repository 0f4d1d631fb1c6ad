// A route entry's guardrails, compiled once per snapshot from its GuardrailsIR: patterns compiled,
// detectors chosen, globs turned into matchers. Per request it checks the body before the provider
// call (refusing, or masking in place), and the response: whole (non-streamed) or as a stream, on a
// sliding window of the generated text. Refusals name the rule, never the text that tripped it.
import type { GuardrailPIIRuleIR, GuardrailsIR, RoutePolicyIR } from '@tollgate/snapshot';
import { globMatcher } from '../../router/glob.ts';
import { searchRegex, type UserRegex } from '../../router/user-regex.ts';
import type { Refusal } from '../chain.ts';
import { requestTextSlots, responseTextSlots, StreamTextReader, type TextSlot } from './content.ts';
import type { GuardrailDetail, GuardrailRecorder, GuardrailStage } from './decisions.ts';
import { scoreInjection } from './injection.ts';
import { phoneFinder } from './phone.ts';
import { DETECTORS, detect, mask } from './pii.ts';
import { type Detector, type Finding, newBudget, type PIIType } from './types.ts';

export type { GuardrailAction, GuardrailRecorder, GuardrailStage } from './decisions.ts';

export interface RequestCheck {
  /** The parsed request body; masking rewrites its text parts in place. */
  body: Record<string, unknown>;
  model: string;
  /** The prompt's size in tokens, as the meter estimates it (called only when a limit is set). */
  estimateInputTokens(): number;
}

export type Verdict = { ok: true; masked: boolean } | { ok: false; refusal: Refusal };

const DESCRIPTIONS: Readonly<Record<PIIType, string>> = {
  email: 'an email address',
  phone: 'a phone number',
  creditCard: 'a payment card number',
  ssn: 'a US Social Security number',
  iban: 'an IBAN',
  ipAddress: 'an IP address',
  nationalId: 'a national ID number',
  secret: 'an API key or access token',
};

/** Generated text kept between stream pieces: longer than any secret or pattern we look for. */
const STREAM_WINDOW_CHARS = 1024;

interface PIIRules {
  types: PIIType[];
  actions: ReadonlyMap<PIIType, 'mask' | 'block'>;
  blocking: PIIType[];
  detectors: Readonly<Record<PIIType, Detector>>;
}

function piiRules(rules: readonly GuardrailPIIRuleIR[] | undefined): PIIRules | undefined {
  if (!rules?.length) return undefined;
  const regions = rules.find((r) => r.type === 'phone')?.regions;
  return {
    types: rules.map((r) => r.type),
    actions: new Map(rules.map((r) => [r.type, r.action])),
    blocking: rules.filter((r) => r.action === 'block').map((r) => r.type),
    detectors: regions ? { ...DETECTORS, phone: phoneFinder(regions) } : DETECTORS,
  };
}

export class Guardrails {
  readonly from: string;
  readonly #policy: string;
  /** What every decision carries: the Policy, for logs. */
  readonly #detail: GuardrailDetail;
  readonly #pii: PIIRules | undefined;
  readonly #deny: UserRegex[];
  readonly #injection: GuardrailsIR['promptInjection'];
  readonly #maxInputTokens: number | undefined;
  readonly #allowed: ((model: string) => boolean) | undefined;
  readonly #allowedList: string;
  readonly #responsePII: PIIRules | undefined;
  readonly #responseDeny: boolean;

  /** Throws when a pattern does not compile (the snapshot is then rejected). */
  constructor(ir: GuardrailsIR) {
    this.from = ir.from;
    this.#policy = `policy ${ir.from.replace(/^policy\//, '')}`;
    this.#detail = { policy: ir.from.replace(/^policy\//, '') };
    this.#pii = piiRules(ir.pii);
    this.#deny = (ir.denyPatterns ?? []).map((pattern, i) => {
      try {
        // Linear-time engine: a prompt can never make a deny pattern backtrack (see user-regex.ts).
        return searchRegex(pattern);
      } catch (error) {
        throw new Error(
          `${ir.from}: guardrails denyPatterns[${i}] does not compile: ${(error as Error).message}`,
        );
      }
    });
    this.#injection = ir.promptInjection;
    this.#maxInputTokens = ir.maxInputTokens;
    if (ir.allowedModels) {
      const matchers = ir.allowedModels.map(globMatcher);
      this.#allowed = (model) => matchers.some((m) => m(model));
      this.#allowedList = ir.allowedModels.join(', ');
    } else {
      this.#allowedList = '';
    }
    this.#responsePII = piiRules(ir.responses?.pii);
    this.#responseDeny = ir.responses?.denyPatterns === true && this.#deny.length > 0;
  }

  /** Checks a request before any provider sees it; masks in place what mask rules find. */
  checkRequest(input: RequestCheck, record: GuardrailRecorder): Verdict {
    const policy = this.#policy;
    if (this.#allowed && !this.#allowed(input.model)) {
      record('request', 'allowed_models', 'block', this.#detail);
      return refuse('TG_ERR_GUARDRAIL_MODEL_NOT_ALLOWED', {
        model: input.model,
        policy,
        allowed: this.#allowedList || 'none',
      });
    }
    if (this.#maxInputTokens !== undefined) {
      const tokens = input.estimateInputTokens();
      if (tokens > this.#maxInputTokens) {
        record('request', 'max_input_tokens', 'block', this.#detail);
        return refuse('TG_ERR_GUARDRAIL_INPUT_TOO_LARGE', { tokens, limit: this.#maxInputTokens, policy });
      }
    }
    const slots = requestTextSlots(input.body);
    const denied = this.#denied(slots);
    if (denied !== undefined) {
      record('request', 'deny_pattern', 'block', this.#detail);
      return refuse('TG_ERR_GUARDRAIL_DENIED_PATTERN', { index: denied, policy, what: 'prompt' });
    }
    if (this.#injection) {
      const spoken = slots.filter((s) => s.speaker === 'user' || s.speaker === 'tool').map((s) => s.text);
      const { score, signals } = scoreInjection(spoken);
      if (score >= this.#injection.threshold) {
        record('request', 'prompt_injection', this.#injection.action, {
          ...this.#detail,
          score,
          threshold: this.#injection.threshold,
          signals,
        });
        if (this.#injection.action === 'block') {
          return refuse('TG_ERR_GUARDRAIL_PROMPT_INJECTION', {
            signals: signals.join(', '),
            score,
            threshold: this.#injection.threshold,
            policy,
          });
        }
      }
    }
    return this.#applyPII(this.#pii, slots, 'request', record, 'TG_ERR_GUARDRAIL_SENSITIVE_DATA');
  }

  /** Checks a whole (non-streamed) response body in the client's format; masks in place. */
  checkResponse(body: Record<string, unknown>, record: GuardrailRecorder): Verdict {
    if (!this.#responsePII && !this.#responseDeny) return { ok: true, masked: false };
    const slots = responseTextSlots(body);
    if (this.#responseDeny) {
      const denied = this.#denied(slots);
      if (denied !== undefined) {
        record('response', 'deny_pattern', 'block', this.#detail);
        return refuse('TG_ERR_GUARDRAIL_RESPONSE_BLOCKED', {
          rule: `denyPatterns[${denied}]`,
          what: 'text matching a deny pattern',
          policy: this.#policy,
        });
      }
    }
    return this.#applyPII(this.#responsePII, slots, 'response', record, 'TG_ERR_GUARDRAIL_RESPONSE_BLOCKED');
  }

  /** Whether responses have block rules a stream must be watched for. */
  get watchesStreams(): boolean {
    return this.#responseDeny || (this.#responsePII?.blocking.length ?? 0) > 0;
  }

  /**
   * A watcher for one streamed response (undefined when nothing is to be watched): fed each piece
   * of the stream as the client would receive it, it answers a refusal when the text generated so
   * far (a sliding window of it) trips a block rule. Mask rules cannot apply to text already sent.
   */
  streamWatcher(record: GuardrailRecorder): StreamWatcher | undefined {
    if (!this.watchesStreams) return undefined;
    const reader = new StreamTextReader();
    const blocking = this.#responsePII?.blocking ?? [];
    // One budget for the whole stream: the window is read again on every piece.
    const budget = newBudget();
    let window = '';
    return {
      push: (piece) => {
        const text = reader.push(piece);
        if (!text) return undefined;
        window += text;
        if (this.#responseDeny) {
          const index = this.#deny.findIndex((re) => re.test(window));
          if (index >= 0) {
            record('response', 'deny_pattern', 'block', this.#detail);
            return refusal('TG_ERR_GUARDRAIL_RESPONSE_BLOCKED', {
              rule: `denyPatterns[${index}]`,
              what: 'text matching a deny pattern',
              policy: this.#policy,
            });
          }
        }
        const found =
          blocking.length > 0 ? detect(window, blocking, this.#responsePII!.detectors, budget)[0] : undefined;
        if (found) {
          record('response', `pii_${found.type}`, 'block', this.#detail);
          return refusal('TG_ERR_GUARDRAIL_RESPONSE_BLOCKED', {
            rule: `responses.pii.${found.type}`,
            what: DESCRIPTIONS[found.type],
            policy: this.#policy,
          });
        }
        if (window.length > STREAM_WINDOW_CHARS) window = window.slice(-STREAM_WINDOW_CHARS);
        return undefined;
      },
    };
  }

  /** The index of the first deny pattern any text matches. */
  #denied(slots: readonly TextSlot[]): number | undefined {
    for (let i = 0; i < this.#deny.length; i++) {
      const re = this.#deny[i]!;
      if (slots.some((s) => re.test(s.text))) return i;
    }
    return undefined;
  }

  #applyPII(
    rules: PIIRules | undefined,
    slots: readonly TextSlot[],
    stage: GuardrailStage,
    record: GuardrailRecorder,
    code: 'TG_ERR_GUARDRAIL_SENSITIVE_DATA' | 'TG_ERR_GUARDRAIL_RESPONSE_BLOCKED',
  ): Verdict {
    if (!rules) return { ok: true, masked: false };
    // One budget for the whole check: a thousand short texts cost no more than one long one.
    const budget = newBudget();
    const found = slots.map((s) => detect(s.text, rules.types, rules.detectors, budget));
    const blocked = found.flat().find((f) => rules.actions.get(f.type) === 'block');
    if (blocked) {
      record(stage, `pii_${blocked.type}`, 'block', this.#detail);
      const prefix = stage === 'request' ? 'pii' : 'responses.pii';
      return refuse(code, {
        what: DESCRIPTIONS[blocked.type],
        rule: `${prefix}.${blocked.type}`,
        type: blocked.type,
        policy: this.#policy,
      });
    }
    let masked = false;
    const counted = new Set<PIIType>();
    found.forEach((findings, i) => {
      if (findings.length === 0) return;
      slots[i]!.set(mask(slots[i]!.text, findings));
      masked = true;
      for (const f of findings as Finding[]) counted.add(f.type);
    });
    for (const type of counted) record(stage, `pii_${type}`, 'mask', this.#detail);
    return { ok: true, masked };
  }
}

export interface StreamWatcher {
  push(piece: string): Refusal | undefined;
}

function refusal(code: Refusal['code'], params: Refusal['params']): Refusal {
  return { code, params };
}

function refuse(code: Refusal['code'], params: Refusal['params']): Verdict {
  return { ok: false, refusal: refusal(code, params) };
}

/** The guardrails of one route entry: its own, and those Consumer-attached Policies replace. */
export class RouteGuardrails {
  readonly #own: Guardrails | undefined;
  readonly #byConsumer: ReadonlyMap<string, Guardrails>;

  constructor(policy: RoutePolicyIR) {
    this.#own = policy.guardrails ? new Guardrails(policy.guardrails) : undefined;
    const byConsumer = new Map<string, Guardrails>();
    for (const [id, sections] of Object.entries(policy.byConsumer ?? {})) {
      if (sections.guardrails) byConsumer.set(id, new Guardrails(sections.guardrails));
    }
    this.#byConsumer = byConsumer;
  }

  /** The guardrails for a caller (consumer id, when authenticated); undefined ⇒ none apply. */
  for(consumerId: string | undefined): Guardrails | undefined {
    return (consumerId !== undefined ? this.#byConsumer.get(consumerId) : undefined) ?? this.#own;
  }
}

/** Compiles an entry's guardrails; undefined when no Policy sets any. Throws on a bad pattern. */
export function compileRouteGuardrails(policy: RoutePolicyIR | undefined): RouteGuardrails | undefined {
  if (!policy?.guardrails && !Object.values(policy?.byConsumer ?? {}).some((s) => s.guardrails))
    return undefined;
  return new RouteGuardrails(policy!);
}
