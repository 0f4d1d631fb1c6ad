// The client side of the gateway: the API formats clients speak. The OpenAI codec is almost the
// identity (the unified format is OpenAI's); the Anthropic codec translates both ways.
import type { Usage } from '../metering/usage.ts';
import type { ProviderError } from '../providers/types.ts';
import type { ChatChunk, ChatCompletion, ChatRequest } from '../unified.ts';

/** Raised for a client body that is JSON but not a valid request; answered 400 in the client's format. */
export class ClientRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientRequestError';
  }
}

/** Turns unified chunks into the client's stream format. One per response. */
export interface ClientStreamEncoder {
  /** Text to send for these chunks ("" when nothing is due yet). */
  chunks(chunks: readonly ChatChunk[]): string;
  /** The closing events, with the final usage when known. */
  end(usage: Usage | undefined): string;
  /** An error event for a stream that broke after it started. */
  error(error: ProviderError): string;
}

export interface ChatClientCodec {
  /** A parsed request body → the unified request (throws ClientRequestError). */
  decode(json: Record<string, unknown>): ChatRequest;
  /** Whether the client asked to see usage in its stream. */
  wantsStreamUsage(json: Record<string, unknown>): boolean;
  encodeCompletion(completion: ChatCompletion, usage: Usage | undefined): string;
  streamEncoder(options: { includeUsage: boolean; model: string }): ClientStreamEncoder;
}
