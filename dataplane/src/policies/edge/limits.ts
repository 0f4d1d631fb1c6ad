// Policy limits: request header count/size (431) and body size (413). Declared lengths are
// checked before anything is forwarded; a chunked body is counted as it streams and cut when it
// grows past the limit.
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { SizeLimitsIR } from '@tollgate/snapshot';

export type LimitVerdict =
  | undefined
  | { code: 'TG_ERR_REQUEST_HEADERS_TOO_LARGE'; reason: string }
  | { code: 'TG_ERR_REQUEST_BODY_TOO_LARGE'; limit: number };

/** Headers and declared body length; undefined ⇒ within limits. */
export function checkDeclaredSizes(req: IncomingMessage, ir: SizeLimitsIR): LimitVerdict {
  const raw = req.rawHeaders;
  if (ir.maxRequestHeaders !== undefined && raw.length / 2 > ir.maxRequestHeaders) {
    return {
      code: 'TG_ERR_REQUEST_HEADERS_TOO_LARGE',
      reason: `${raw.length / 2} header lines, at most ${ir.maxRequestHeaders} allowed`,
    };
  }
  if (ir.maxRequestHeadersBytes !== undefined) {
    // Name + ": " + value + CRLF per line, as on the HTTP/1.1 wire.
    let bytes = 0;
    for (let i = 0; i < raw.length; i += 2) bytes += raw[i]!.length + raw[i + 1]!.length + 4;
    if (bytes > ir.maxRequestHeadersBytes)
      return {
        code: 'TG_ERR_REQUEST_HEADERS_TOO_LARGE',
        reason: `${bytes} bytes of headers, at most ${ir.maxRequestHeadersBytes} allowed`,
      };
  }
  const length = req.headers['content-length'];
  if (ir.maxRequestBodyBytes !== undefined && length !== undefined && Number(length) > ir.maxRequestBodyBytes)
    return { code: 'TG_ERR_REQUEST_BODY_TOO_LARGE', limit: ir.maxRequestBodyBytes };
  return undefined;
}

/** Passes the body through until it exceeds `limit`, then calls `onExceeded` and stops. */
export class BodyLimiter extends Transform {
  readonly #limit: number;
  readonly #onExceeded: () => void;
  #seen = 0;

  constructor(limit: number, onExceeded: () => void) {
    super();
    this.#limit = limit;
    this.#onExceeded = onExceeded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) {
      this.#onExceeded();
      return;
    }
    callback(null, chunk);
  }
}
