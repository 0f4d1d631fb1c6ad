// Anthropic errors: its error body, and 529 (overloaded) treated like 503.
export { parseAnthropicError } from '../../formats/anthropic/errors.ts';
