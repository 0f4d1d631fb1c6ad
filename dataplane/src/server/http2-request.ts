// An HTTP/2 request as the proxy handlers read HTTP/1.1 ones: Host from :authority, and a body
// without Content-Length announced as chunked (HTTP/2 has no Transfer-Encoding; without it the
// body would look absent and never reach the HTTP/1.1 upstream).
import type { Http2ServerRequest } from 'node:http2';

export function adaptHttp2Request(req: Http2ServerRequest): void {
  const headers = req.headers;
  if (headers.host === undefined && req.authority) headers.host = req.authority;
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders)
    headers['transfer-encoding'] = 'chunked';
}
