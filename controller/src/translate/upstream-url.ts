// http(s) URLs of static backends and AI providers, reduced to what a cluster needs.

export interface UpstreamURL {
  scheme: 'http' | 'https';
  /** Host without IPv6 brackets, as a socket connects to it. */
  host: string;
  port: number;
  /** `scheme://host:port` with the port always written: the cluster identity. */
  origin: string;
  /** Host header / SNI: the host, plus the port when it is not the scheme's default (as clients send it). */
  authority: string;
  /** Path without the trailing slash ("" for none). */
  path: string;
}

/** Parses `text`, or returns what is wrong with it. */
export function parseUpstreamURL(
  text: string,
): { ok: true; url: UpstreamURL } | { ok: false; problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: `"${text}" is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, problem: `"${text}" must use http:// or https://` };
  }
  if (url.username || url.password) {
    return { ok: false, problem: `"${text}" must not carry credentials; put them in a Secret` };
  }
  if (url.search || url.hash) {
    return { ok: false, problem: `"${text}" must not have a query or fragment` };
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    ok: true,
    url: {
      scheme,
      host,
      port,
      origin: `${scheme}://${url.hostname}:${port}`,
      authority: url.host,
      path: url.pathname.replace(/\/+$/, ''),
    },
  };
}
