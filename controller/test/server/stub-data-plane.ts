// A raw protocol client: speaks ConfigDiscovery at the wire with no client logic, so tests can
// send exactly the requests they want (stale nonces, NACKs, a reconnect claiming a version).
import type { ClientDuplexStream, ServiceError, StatusObject } from '@grpc/grpc-js';
import {
  ConfigDiscoveryClient,
  type ConfigRequest,
  type ConfigResponse,
  channelCredentials,
  channelOptions,
  configRequest,
  type TlsMaterial,
} from '@tollgate/snapshot';

type RequestInit = Parameters<typeof configRequest>[0];

export class StubDataPlane {
  readonly client: ConfigDiscoveryClient;
  readonly call: ClientDuplexStream<ConfigRequest, ConfigResponse>;
  /** Settles when the call ends, with its final status (errors included). */
  readonly ended: Promise<StatusObject>;
  #responses: ConfigResponse[] = [];
  #waiters: Array<{ resolve: (response: ConfigResponse) => void; reject: (error: Error) => void }> = [];
  #status: StatusObject | undefined;

  constructor(address: string, tls?: TlsMaterial) {
    this.client = new ConfigDiscoveryClient(address, channelCredentials(tls), channelOptions(tls));
    this.call = this.client.streamConfig();
    this.call.on('data', (response: ConfigResponse) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(response);
      else this.#responses.push(response);
    });
    this.ended = new Promise((resolve) => {
      this.call.on('status', (status: StatusObject) => {
        this.#status = status;
        for (const waiter of this.#waiters.splice(0)) waiter.reject(endedError(status));
        resolve(status);
      });
      // Errors also arrive as a status; this listener only keeps them from being unhandled.
      this.call.on('error', (_error: ServiceError) => {});
    });
  }

  hello(id: string, init: { zone?: string; versionInfo?: string } = {}): void {
    this.send({
      node: { id, zone: init.zone ?? 'zone-a', buildVersion: 'test' },
      versionInfo: init.versionInfo ?? '',
    });
  }

  send(init: RequestInit): void {
    this.call.write(configRequest(init));
  }

  ack(response: ConfigResponse): void {
    this.send({ versionInfo: response.versionInfo, responseNonce: response.nonce });
  }

  nack(response: ConfigResponse, runningVersion: string, message: string): void {
    this.send({ versionInfo: runningVersion, responseNonce: response.nonce, errorDetail: { message } });
  }

  /** The next response on the stream, in order; rejects if the stream ends first. */
  next(timeoutMs = 10_000): Promise<ConfigResponse> {
    const queued = this.#responses.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#status) return Promise.reject(endedError(this.#status));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no ConfigResponse within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: (response: ConfigResponse) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

function endedError(status: StatusObject): Error {
  return new Error(`stream ended before a ConfigResponse: code ${status.code} ${status.details}`);
}
