// Anthropic usage: cache reads and writes are added to input_tokens to make the gateway's input.
export { usageFromAnthropic } from '../../formats/anthropic/usage.ts';
