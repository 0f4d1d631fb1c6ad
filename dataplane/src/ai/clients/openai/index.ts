// The OpenAI API as clients speak it: the unified format itself.
import { isRecord } from '../../formats/http.ts';
import { toWireUsage } from '../../metering/usage.ts';
import type { ChatClientCodec } from '../types.ts';
import { decodeOpenAIChat } from './request.ts';
import { OpenAIStreamEncoder } from './stream.ts';

export const openAIClient: ChatClientCodec = {
  decode: decodeOpenAIChat,
  wantsStreamUsage: (json) => isRecord(json.stream_options) && json.stream_options.include_usage === true,
  encodeCompletion(completion, usage) {
    return JSON.stringify(usage ? { ...completion, usage: toWireUsage(usage) } : completion);
  },
  streamEncoder: (options) => new OpenAIStreamEncoder(options),
};

export { decodeOpenAIEmbeddings } from './request.ts';
