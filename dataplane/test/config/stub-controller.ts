// A raw protocol server: speaks ConfigDiscovery at the wire with no controller logic, so tests
// see exactly what the client sends and can answer with anything (including invalid payloads).
import { Metadata, Server, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  type ConfigRequest,
  type ConfigResponse,
  configDiscoveryDefinition,
  configResponse,
  encodeSnapshot,
  SERVER_OPTIONS,
  SNAPSHOT_ENCODING,
  type Snapshot,
  serverCredentials,
  type TlsMaterial,
} from '@tollgate/snapshot';

/** Items in arrival order, awaited one at a time. */
class Inbox<T> {
  #items: T[] = [];
  #waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  next(what: string, timeoutMs = 10_000): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.#waiters.push(waiter);
    });
  }
}

export class StubStream {
  readonly call: ServerDuplexStream<ConfigRequest, ConfigResponse>;
  readonly requests = new Inbox<ConfigRequest>();
  /** Settles when the client cancels or the stream closes. */
  readonly closed: Promise<void>;
  #nonce = 0;

  constructor(call: ServerDuplexStream<ConfigRequest, ConfigResponse>) {
    this.call = call;
    call.on('data', (request: ConfigRequest) => this.requests.push(request));
    call.on('error', () => {});
    this.closed = new Promise((resolve) => {
      call.on('cancelled', () => resolve());
      call.on('close', () => resolve());
    });
  }

  nextRequest(): Promise<ConfigRequest> {
    return this.requests.next('ConfigRequest');
  }

  /** Sends a snapshot (or raw payload fields); returns the nonce used. */
  send(
    snapshot: Snapshot,
    override: Partial<Pick<ConfigResponse, 'snapshot' | 'encoding' | 'versionInfo'>> = {},
  ): string {
    const nonce = `n${++this.#nonce}`;
    this.call.write(
      configResponse({
        versionInfo: snapshot.version,
        nonce,
        snapshot: encodeSnapshot(snapshot),
        encoding: SNAPSHOT_ENCODING,
        ...override,
      }),
    );
    return nonce;
  }
}

export class StubController {
  readonly streams = new Inbox<StubStream>();
  readonly #server = new Server(SERVER_OPTIONS);
  readonly #tls: TlsMaterial | undefined;

  constructor(tls?: TlsMaterial) {
    this.#tls = tls;
    this.#server.addService(configDiscoveryDefinition, {
      streamConfig: (call: ServerDuplexStream<ConfigRequest, ConfigResponse>) => {
        call.sendMetadata(new Metadata());
        this.streams.push(new StubStream(call));
      },
    });
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(`127.0.0.1:${port}`, serverCredentials(this.#tls), (error, bound) =>
        error ? reject(error) : resolve(bound),
      );
    });
  }

  nextStream(): Promise<StubStream> {
    return this.streams.next('config stream');
  }

  /** Dies abruptly: every stream is cut, as when the controller process is killed. */
  kill(): void {
    this.#server.forceShutdown();
  }
}
