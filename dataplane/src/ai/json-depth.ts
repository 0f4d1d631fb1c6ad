// How deeply a JSON text nests. Bodies are parsed by V8 without limit, but re-serialising them
// (translation to another provider's format, guardrail masking) recurses, and a body nested some
// 100,000 levels deep overflows the stack there. A linear scan before any of that refuses such
// bodies with a 400 instead. No real chat, tool schema or embeddings request comes near the cap.

/** Deepest nesting accepted in an AI request body. */
export const MAX_JSON_NESTING = 128;

/** True when `text` (already known to be valid JSON) opens more than `max` arrays/objects at once. */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  // Valid JSON closes what it opens: deeper than `max` takes at least 2 × (max + 1) characters.
  if (text.length < 2 * (max + 1)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}
