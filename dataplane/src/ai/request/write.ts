// The last bytes of an AI answer, shared by every writer: a whole body (none for HEAD) and the end
// of an event stream with its usage trailer. Both count the bytes the access log reports, so no
// writer can forget to.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Exchange } from '../../proxy/exchange.ts';
import type { MeteredResult } from '../meter.ts';
import { formatUsageHeader, USAGE_HEADER } from '../metering/usage-header.ts';

export function sendBody(
  exchange: Exchange,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string,
): void {
  exchange.res.writeHead(status, headers);
  exchange.bytesOut += Buffer.byteLength(body);
  exchange.res.end(exchange.method === 'HEAD' ? undefined : body);
}

/** Writes the stream's last events (if any) and ends it with the metered usage as its trailer. */
export function endStream(exchange: Exchange, tail: string, metered: MeteredResult): void {
  const { res } = exchange;
  if (tail) {
    res.write(tail);
    exchange.bytesOut += Buffer.byteLength(tail);
  }
  res.addTrailers({ [USAGE_HEADER]: formatUsageHeader(metered.usage, metered.cost) });
  res.end();
}
