// The Anthropic Messages API as clients speak it, translated from and to the unified format.
import type { ChatClientCodec } from '../types.ts';
import { decodeAnthropicMessages } from './request.ts';
import { toAnthropicMessage } from './response.ts';
import { AnthropicStreamEncoder } from './stream.ts';

export const anthropicClient: ChatClientCodec = {
  decode: decodeAnthropicMessages,
  // Anthropic streams always carry usage.
  wantsStreamUsage: () => true,
  encodeCompletion: (completion, usage) => JSON.stringify(toAnthropicMessage(completion, usage)),
  streamEncoder: (options) => new AnthropicStreamEncoder(options),
};
