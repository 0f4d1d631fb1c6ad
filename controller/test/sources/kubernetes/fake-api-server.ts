// A small in-memory Kubernetes API over real HTTP on loopback: list (with pages), watch (resume
// from a resourceVersion, 410 Gone once history is compacted), field selectors on metadata.name,
// and scripted failures. Enough of the wire protocol to drive client-node's informers through
// the failures a real API server produces, deterministically.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  collection: string;
  object: StoredObject;
}

interface OpenWatch {
  collection: string;
  namespace: string | undefined;
  name: string | undefined;
  response: ServerResponse;
}

export interface SeenRequest {
  path: string;
  query: URLSearchParams;
  watch: boolean;
}

const COLLECTION = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)$/;

/** `/api/v1/services` for a Service, `/apis/tollgate.dev/v1alpha1/routes` for a Route. */
function collectionOf(object: StoredObject): string {
  const root = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const plural = object.kind === 'Policy' ? 'policies' : `${object.kind.toLowerCase()}s`;
  return `${root}/${plural}`;
}

export class FakeApiServer {
  readonly requests: SeenRequest[] = [];
  #server!: Server;
  #url = '';
  #rv = 1;
  /** Watches asking for a resourceVersion older than this get 410 Gone. */
  #compactedRv = 0;
  readonly #objects = new Map<string, StoredObject>();
  readonly #events: WatchEvent[] = [];
  readonly #watches = new Set<OpenWatch>();
  #failures: Array<{ match: (r: SeenRequest) => boolean; status: number; remaining: number }> = [];
  #pageSize = 0;

  static async start(): Promise<FakeApiServer> {
    const fake = new FakeApiServer();
    fake.#server = createServer((req, res) => fake.#handle(req, res));
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  get url(): string {
    return this.#url;
  }

  kubeConfig(): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server: this.#url, skipTLSVerify: true }],
      users: [{ name: 'tester', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
      currentContext: 'fake',
    });
    return kubeConfig;
  }

  /** Lists return at most this many items per page (0: no paging). */
  set pageSize(size: number) {
    this.#pageSize = size;
  }

  /** Creates or replaces an object; open watches see ADDED or MODIFIED. */
  apply(object: StoredObject): void {
    const copy = structuredClone(object);
    copy.metadata.namespace ??= 'default';
    const collection = collectionOf(copy);
    const key = `${collection}|${copy.metadata.namespace}|${copy.metadata.name}`;
    const type = this.#objects.has(key) ? 'MODIFIED' : 'ADDED';
    this.#rv++;
    copy.metadata.resourceVersion = String(this.#rv);
    this.#objects.set(key, copy);
    this.#publish({ rv: this.#rv, type, collection, object: copy });
  }

  delete(object: Pick<StoredObject, 'apiVersion' | 'kind' | 'metadata'>): void {
    const collection = collectionOf(object as StoredObject);
    const key = `${collection}|${object.metadata.namespace ?? 'default'}|${object.metadata.name}`;
    const stored = this.#objects.get(key);
    if (!stored) return;
    this.#objects.delete(key);
    this.#rv++;
    const gone = { ...stored, metadata: { ...stored.metadata, resourceVersion: String(this.#rv) } };
    this.#publish({ rv: this.#rv, type: 'DELETED', collection, object: gone });
  }

  /** The next `count` requests matching `match` fail with `status`. */
  fail(match: (request: SeenRequest) => boolean, status: number, count = 1): void {
    this.#failures.push({ match, status, remaining: count });
  }

  /** Forgets the event history: a watch resuming from before now gets 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#events.length = 0;
  }

  /** Cuts every open watch connection, as a restarting API server would. */
  dropWatches(): void {
    for (const watch of this.#watches) watch.response.destroy();
    this.#watches.clear();
  }

  /** Open watches, described as `path?fieldSelector`. */
  openWatches(): string[] {
    return [...this.#watches].map(
      (w) => `${w.collection}${w.namespace ? ` ns=${w.namespace}` : ''}${w.name ? ` name=${w.name}` : ''}`,
    );
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.#url);
    const seen: SeenRequest = {
      path: url.pathname,
      query: url.searchParams,
      watch: url.searchParams.get('watch') === 'true',
    };
    this.requests.push(seen);
    const failure = this.#failures.find((f) => f.remaining > 0 && f.match(seen));
    if (failure) {
      failure.remaining--;
      this.#status(res, failure.status, 'InternalError', 'scripted failure');
      return;
    }
    const match = COLLECTION.exec(url.pathname);
    if (!match) {
      this.#status(res, 404, 'NotFound', `no route ${url.pathname}`);
      return;
    }
    const [, root, namespace, plural] = match;
    const collection = `${root}/${plural}`;
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const name = /^metadata\.name=(.+)$/.exec(selector)?.[1];
    if (selector && !name) {
      this.#status(res, 400, 'BadRequest', `unsupported selector ${selector}`);
      return;
    }
    const filter = { collection, namespace, name };
    if (seen.watch) this.#watch(res, filter, Number(url.searchParams.get('resourceVersion') ?? 0));
    else this.#list(res, filter, url.searchParams.get('continue'));
  }

  #matches(filter: Omit<OpenWatch, 'response'>, collection: string, object: StoredObject): boolean {
    return (
      collection === filter.collection &&
      (filter.namespace === undefined || object.metadata.namespace === filter.namespace) &&
      (filter.name === undefined || object.metadata.name === filter.name)
    );
  }

  #list(res: ServerResponse, filter: Omit<OpenWatch, 'response'>, token: string | null): void {
    const all = [...this.#objects.entries()]
      .filter(([key, object]) => this.#matches(filter, key.split('|')[0]!, object))
      .map(([, object]) => {
        // Like the real API server for built-in kinds: list items carry no apiVersion/kind.
        const { apiVersion: _a, kind: _k, ...item } = object;
        return item;
      });
    const start = token ? Number(token) : 0;
    const end = this.#pageSize > 0 ? start + this.#pageSize : all.length;
    const metadata: Record<string, string> = { resourceVersion: String(this.#rv) };
    if (end < all.length) metadata.continue = String(end);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata, items: all.slice(start, end) }));
  }

  #watch(res: ServerResponse, filter: Omit<OpenWatch, 'response'>, fromRv: number): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // As the real API server does: the client's watch is established before any event.
    res.flushHeaders();
    if (fromRv < this.#compactedRv) {
      const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' };
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { ...status, message: 'too old resource version' } })}\n`,
      );
      return;
    }
    const watch: OpenWatch = { ...filter, response: res };
    this.#watches.add(watch);
    res.on('close', () => this.#watches.delete(watch));
    for (const event of this.#events) {
      if (event.rv > fromRv && this.#matches(filter, event.collection, event.object))
        this.#send(watch, event);
    }
  }

  #publish(event: WatchEvent): void {
    this.#events.push(event);
    for (const watch of this.#watches) {
      if (this.#matches(watch, event.collection, event.object)) this.#send(watch, event);
    }
  }

  #send(watch: OpenWatch, event: WatchEvent): void {
    watch.response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }));
  }
}
