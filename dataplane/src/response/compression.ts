// Policy compression: brotli or gzip, negotiated per request from Accept-Encoding (q-values, then
// the policy's order), streamed through node:zlib. The response object is wrapped before the
// upstream answer is written, so whatever writes it (the forwarder, the response cache) needs no
// knowledge of it. Skipped: HEAD, bodiless statuses, already-encoded bodies, Cache-Control
// no-transform, declared lengths under minBytes, and types not in the list (by default every
// type the `compressible` database marks compressible). Event streams are flushed per chunk so
// they keep streaming.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type BrotliCompress, constants, createBrotliCompress, createGzip, type Gzip } from 'node:zlib';
import type { CompressionIR } from '@tollgate/snapshot';
import compressible from 'compressible';
import Negotiator from 'negotiator';

export interface Compression {
  /** Wraps `res` so the response is compressed when the negotiation allows it. */
  wrap(req: IncomingMessage, res: ServerResponse): void;
}

type Encoder = Gzip | BrotliCompress;

const encoders = {
  // Quality 4 / level 6: most of the size win at a fraction of the CPU of the maximum settings.
  br: () => createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
  gzip: () => createGzip({ level: 6 }),
} as const;

interface Negotiate {
  encoding(available: readonly string[], options: { preferred: readonly string[] }): string | undefined;
}

export function compileCompression(ir: CompressionIR): Compression {
  const available = [...ir.algorithms, 'identity'];
  const preferred = ir.algorithms;
  const families = (ir.contentTypes ?? []).filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -1));
  const exact = new Set((ir.contentTypes ?? []).filter((t) => !t.endsWith('/*')));
  const typeAllowed = (type: string): boolean => {
    if (!ir.contentTypes) return compressible(type) === true;
    return exact.has(type) || families.some((family) => type.startsWith(family));
  };

  return {
    wrap(req, res) {
      if (req.method === 'HEAD') return;
      const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
      const write = res.write as (...args: unknown[]) => boolean;
      const end = res.end as (...args: unknown[]) => ServerResponse;
      let encoder: Encoder | undefined;
      let flushEach = false;

      const decide = (statusCode: number, headers: OutgoingHttpHeaders | undefined): void => {
        const get = (name: string) => headers?.[name] ?? res.getHeader(name);
        const set = (name: string, value: string | undefined) => {
          if (res.hasHeader(name)) res.removeHeader(name);
          if (headers) {
            if (value === undefined) delete headers[name];
            else headers[name] = value;
          } else if (value !== undefined) res.setHeader(name, value);
        };
        if (statusCode < 200 || statusCode === 204 || statusCode === 304) return;
        const type = String(get('content-type') ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        if (type === '' || !typeAllowed(type)) return;
        const vary = get('vary');
        if (vary === undefined) set('vary', 'Accept-Encoding');
        else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(String(vary)))
          set('vary', `${String(vary)}, Accept-Encoding`);
        const existing = get('content-encoding');
        if (existing !== undefined && String(existing).toLowerCase() !== 'identity') return;
        if (/(^|,)\s*no-transform\s*(,|$)/i.test(String(get('cache-control') ?? ''))) return;
        const length = get('content-length');
        if (length !== undefined && Number(length) < ir.minBytes) return;
        const chosen = (new Negotiator(req) as unknown as Negotiate).encoding(available, { preferred });
        if (chosen !== 'br' && chosen !== 'gzip') return;
        set('content-encoding', chosen);
        set('content-length', undefined);
        // The compressed bytes are a different representation: a strong validator becomes weak.
        const etag = get('etag');
        if (typeof etag === 'string' && !etag.startsWith('W/')) set('etag', `W/${etag}`);
        flushEach = type === 'text/event-stream';
        encoder = encoders[chosen]();
        const active = encoder;
        active.on('data', (chunk: Buffer) => {
          if (!write.call(res, chunk)) active.pause();
        });
        active.on('end', () => end.call(res));
        // Whoever writes to us waits for 'drain' when write() returned false; the encoder's
        // buffer filling up is such a case.
        active.on('drain', () => res.emit('drain'));
        active.on('error', (error) => res.destroy(error));
        res.on('drain', () => active.resume());
        res.once('close', () => active.destroy());
      };

      res.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
        const last = rest[rest.length - 1];
        const headers =
          last && typeof last === 'object' && !Array.isArray(last)
            ? (last as OutgoingHttpHeaders)
            : undefined;
        decide(statusCode, headers);
        return writeHead.call(this, statusCode, ...rest);
      } as ServerResponse['writeHead'];

      res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
        if (!this.headersSent) this.writeHead(this.statusCode);
        if (!encoder) return write.call(this, chunk, ...rest);
        const accepted = encoder.write(chunk as Buffer);
        if (flushEach) encoder.flush();
        return accepted;
      } as ServerResponse['write'];

      res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
        if (!this.headersSent) {
          if (
            chunk !== undefined &&
            typeof chunk !== 'function' &&
            this.getHeader('content-length') === undefined
          )
            this.setHeader('content-length', Buffer.byteLength(chunk as Buffer));
          this.writeHead(this.statusCode);
        }
        if (!encoder) return end.call(this, chunk, ...rest);
        if (chunk !== undefined && typeof chunk !== 'function') encoder.end(chunk as Buffer);
        else encoder.end();
        return this;
      } as ServerResponse['end'];
    },
  };
}
