// The three Kubernetes APIs the leader's duties use (Leases, custom-object status, Events), built
// from one KubeConfig, plus the two things every caller needs on top of the generated client: a
// per-request deadline and the HTTP status of a failure.
import {
  ApiException,
  type ConfigurationOptions,
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
} from '@kubernetes/client-node';

export interface KubeApis {
  coordination: CoordinationV1Api;
  customObjects: CustomObjectsApi;
  events: EventsV1Api;
}

export function createKubeApis(config: KubeConfig): KubeApis {
  return {
    coordination: config.makeApiClient(CoordinationV1Api),
    customObjects: config.makeApiClient(CustomObjectsApi),
    events: config.makeApiClient(EventsV1Api),
  };
}

/**
 * Call options that abort the request after `ms`. The generated client has no timeout of its
 * own, and a request to an API server that stopped answering would otherwise hang forever, which
 * leader election cannot afford (the renew deadline must be able to pass). `cancel` aborts it early
 * (shutdown).
 */
export function withTimeout(ms: number, cancel?: AbortSignal): ConfigurationOptions {
  // The object-style API methods take the observable flavour of middleware (not the promise one).
  const deadline: ObservableMiddleware = {
    pre: (context) => {
      const timeout = AbortSignal.timeout(Math.max(1, Math.round(ms)));
      context.setSignal(cancel ? AbortSignal.any([timeout, cancel]) : timeout);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [deadline], middlewareMergeStrategy: 'append' };
}

/** The HTTP status of a failed API call; undefined for network errors and timeouts. */
export function httpStatusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** A short, log-friendly description of a failed API call (the API server's message when it sent one). */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message;
      } catch {
        message = body.slice(0, 300);
      }
    } else if (body && typeof body === 'object') {
      message = (body as { message?: string }).message;
    }
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}
