// What the upstream learns about the caller: the API key header is dropped (it authenticates the
// caller to the gateway, not to the backend), and the consumer and team are named in headers the
// client cannot forge (any client-sent copies are replaced or removed).
import type { RequestContext } from './chain.ts';

type HeaderMap = Record<string, string | string[]>;

export const CONSUMER_HEADER = 'x-tollgate-consumer';
export const TEAM_HEADER = 'x-tollgate-team';

export function identityHeaders(headers: HeaderMap, context: RequestContext | undefined): void {
  delete headers[CONSUMER_HEADER];
  delete headers[TEAM_HEADER];
  if (!context) return;
  if (context.credentialHeader) delete headers[context.credentialHeader];
  // Claim headers (JWT): always replaced or removed, so a client cannot pose as another user.
  if (context.forwardHeaders) {
    for (const [name, value] of context.forwardHeaders) {
      delete headers[name];
      if (value !== undefined) headers[name] = value;
    }
  }
  const { caller } = context;
  if (!caller) return;
  headers[CONSUMER_HEADER] = `${caller.namespace}/${caller.name}`;
  if (caller.team) headers[TEAM_HEADER] = caller.team;
}
