// The models endpoint of an AI route (`GET …/models`, in the client's API shape) and where it lives
// relative to a request's path, so a model-not-found error can point the client at the list.
import type { Exchange } from '../../proxy/exchange.ts';
import { modelsOfHost, renderModelList } from '../models-list.ts';
import type { ClientAPI } from '../providers/types.ts';
import type { RequestState } from './state.ts';
import { sendBody } from './write.ts';

export function listModels(rs: RequestState, api: ClientAPI): void {
  const exchange = rs.exchange;
  const body = renderModelList(api, modelsOfHost(rs.context.match.vhost));
  sendBody(
    exchange,
    200,
    {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': exchange.requestId,
    },
    body,
  );
}

export function modelsPath(exchange: Exchange): string {
  const path = exchange.path;
  const at = path.lastIndexOf('/');
  return `${at > 0 ? path.slice(0, at) : ''}/models`.replace(/\/chat\/models$/, '/models');
}
