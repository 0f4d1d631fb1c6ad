// Prompt-injection heuristics: a documented set of phrases and markers, each with a weight. A
// text's score is the sum of the weights of the signals it contains (each counted once); at or
// above the Policy's threshold (default 5) it counts as an injection attempt. One strong signal
// ("ignore previous instructions") is enough; weak ones ("pretend to be") need company. The set is
// listed in docs/policies.md; keep the two in step.
//
// The patterns run over whole prompts (up to the body limit), so each is linear: repeated groups
// are bounded, and a whitespace run is read only from the one start that precedes it (the role
// marker skips blanks within its line, never across line ends, or a text of a million newlines
// would be re-read from each of them).
export interface InjectionSignal {
  name: string;
  weight: number;
  pattern: RegExp;
}

export const INJECTION_SIGNALS: readonly InjectionSignal[] = [
  {
    name: 'ignore-instructions',
    weight: 5,
    pattern:
      /\b(?:ignore|disregard|forget|skip|override)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+){0,8}(?:previous|prior|above|earlier|preceding|initial|original|system)\s+(?:instructions?|prompts?|rules|directions|guidelines|messages?)\b/i,
  },
  {
    name: 'system-prompt-exfiltration',
    weight: 4,
    pattern:
      /\b(?:reveal|print|show|repeat|output|leak|display|dump|tell\s+me|give\s+me|what\s+(?:is|are|was|were))\s+(?:me\s+)?(?:your|the)\s+(?:full\s+|exact\s+|original\s+|hidden\s+|initial\s+|secret\s+){0,8}(?:system\s+prompt|system\s+message|initial\s+instructions|hidden\s+instructions|instructions\s+above|prompt\s+above)\b/i,
  },
  {
    name: 'role-override',
    weight: 3,
    pattern:
      /\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+(?:are|will)|you\s+will\s+now\s+act\s+as|act\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken|uncensored))\b/i,
  },
  {
    name: 'fake-role-marker',
    weight: 3,
    pattern:
      /(?:^|\n)[^\S\n]*(?:#{1,3}[^\S\n]*)?(?:system|assistant)[^\S\n]*:|<\|im_start\|>|<\|(?:system|assistant)\|>|\[\/?INST\]|<<SYS>>/i,
  },
  {
    name: 'jailbreak-persona',
    weight: 3,
    pattern:
      /\b(?:do\s+anything\s+now|DAN\s+mode|developer\s+mode\s+(?:enabled|on)|jailbreak(?:ed)?\s+mode)\b/i,
  },
  {
    name: 'safety-bypass',
    weight: 3,
    pattern:
      /\b(?:bypass|disable|turn\s+off|ignore)\s+(?:your\s+|the\s+|all\s+){0,8}(?:safety|content)\s+(?:filters?|guidelines|policies|restrictions|rules)\b/i,
  },
  {
    name: 'new-instructions',
    weight: 2,
    pattern: /\b(?:new|updated|real)\s+instructions\s*:/i,
  },
  {
    name: 'pretend',
    weight: 2,
    pattern: /\bpretend\s+(?:to\s+be|you\s+are|that\s+you\s+are)\b/i,
  },
];

export interface InjectionScore {
  score: number;
  /** Names of the signals found, for the error message and logs (never the text itself). */
  signals: string[];
}

/** The score of some texts taken together (a signal counts once however often it appears). */
export function scoreInjection(texts: readonly string[]): InjectionScore {
  const signals: string[] = [];
  let score = 0;
  for (const signal of INJECTION_SIGNALS) {
    if (texts.some((text) => signal.pattern.test(text))) {
      signals.push(signal.name);
      score += signal.weight;
    }
  }
  return { score, signals };
}
