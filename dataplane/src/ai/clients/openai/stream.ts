// Unified chunks → OpenAI's stream: `data: <chunk>` events, a usage-only chunk when the client
// asked for it, then `data: [DONE]`. Errors after the stream started are an `{"error": …}` event.
import { toWireUsage, type Usage } from '../../metering/usage.ts';
import type { ProviderError } from '../../providers/types.ts';
import type { ChatChunk } from '../../unified.ts';
import type { ClientStreamEncoder } from '../types.ts';

export class OpenAIStreamEncoder implements ClientStreamEncoder {
  readonly #includeUsage: boolean;
  #last: ChatChunk | undefined;

  constructor(options: { includeUsage: boolean }) {
    this.#includeUsage = options.includeUsage;
  }

  chunks(chunks: readonly ChatChunk[]): string {
    let out = '';
    for (const chunk of chunks) {
      out += `data: ${JSON.stringify(chunk)}\n\n`;
      this.#last = chunk;
    }
    return out;
  }

  end(usage: Usage | undefined): string {
    let out = '';
    if (this.#includeUsage && usage) {
      const last = this.#last;
      const chunk = {
        id: last?.id ?? '',
        object: 'chat.completion.chunk',
        created: last?.created ?? Math.floor(Date.now() / 1000),
        model: last?.model ?? '',
        choices: [],
        usage: toWireUsage(usage),
      };
      out += `data: ${JSON.stringify(chunk)}\n\n`;
    }
    return `${out}data: [DONE]\n\n`;
  }

  error(error: ProviderError): string {
    return `data: ${JSON.stringify({ error: { message: error.message, type: error.providerCode ?? 'server_error', code: error.providerCode ?? null } })}\n\n`;
  }
}
