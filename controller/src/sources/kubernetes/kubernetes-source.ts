// The Kubernetes API as an object source: informers for the Tollgate kinds, Services and
// EndpointSlices (cluster-wide or per configured namespace), plus one small informer per Secret
// that a Tollgate object references. Emits the whole object set, as plain JSON like the file
// source's, once everything has been listed (the sync barrier) and after every change.
//
// Secrets: only referenced Secrets are read. Each one gets its own list+watch with the field
// selector `metadata.name=<name>` in its namespace; a Secret that stops being referenced is
// dropped and its watch closed. The controller never receives the other Secrets of the cluster,
// and RBAC can be as narrow as the operator likes: the API server authorizes a list/watch with a
// `metadata.name` field selector against `resourceNames`, so `list, watch` on secrets, or on
// named secrets only, is enough (e2e/test/kubernetes.test.ts runs a controller so restricted).
// The cost is one watch connection per referenced Secret.
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@tollgate/telemetry';
import type { ObjectSource, SourceProblem, SourceState } from '../source.ts';
import type { BackoffOptions } from './backoff.ts';
import { ResilientInformer } from './informer.ts';
import {
  SECRET_RESOURCE,
  TOLLGATE_API_VERSION,
  WATCHED_RESOURCES,
  type WatchedResource,
} from './resources.ts';
import { referencedSecrets } from './secret-refs.ts';

export interface KubernetesSourceOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; undefined or empty watches all of them. */
  namespaces?: readonly string[];
  logger: Logger;
  /** Events are gathered this long before a new state is emitted (bursts, relists). */
  debounceMs?: number;
  /** Restart delays of failing watches. */
  backoff?: BackoffOptions;
  /**
   * How long a change (or the first state) waits for the first read of a Secret it newly
   * references, so that, say, an AIProvider switching to another Secret is never briefly
   * published without its credential, while a Secret that cannot be read holds nothing back.
   */
  secretWaitMs?: number;
}

export class KubernetesSource extends EventEmitter<{ change: [SourceState] }> implements ObjectSource {
  readonly #options: KubernetesSourceOptions;
  readonly #informers: ResilientInformer[] = [];
  readonly #secrets = new Map<string, ResilientInformer>();
  readonly #logger: Logger;
  #state: SourceState = { objects: [], problems: [] };
  #synced = false;
  #stopped = false;
  #onStop!: () => void;
  readonly #stoppedSignal = new Promise<void>((resolve) => {
    this.#onStop = resolve;
  });
  #timer: NodeJS.Timeout | undefined;
  #holdTimer: NodeJS.Timeout | undefined;
  /** Until when the emission may wait for newly referenced Secrets. */
  #holdUntil = 0;

  constructor(options: KubernetesSourceOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger.child({ source: 'kubernetes' });
  }

  /** Resolves after the first complete read; rejects if stop() comes first (nothing is emitted). */
  async start(): Promise<void> {
    const namespaces = this.#options.namespaces?.length ? this.#options.namespaces : [undefined];
    for (const resource of WATCHED_RESOURCES) {
      for (const namespace of namespaces) this.#informers.push(this.#informer(resource, namespace));
    }
    for (const informer of this.#informers) informer.start();
    this.#logger.info(
      { namespaces: this.#options.namespaces?.length ? this.#options.namespaces : 'all' },
      'listing and watching',
    );
    if (!(await this.#until(this.#informers))) throw stoppedBeforeSync();
    // Referenced Secrets are known only now. Reading them may take a moment (and a change
    // meanwhile may reference more, hence the loop), but one that cannot be read at all (say,
    // RBAC forbids it) must not hold back everything else: after secretWaitMs the objects that
    // need it are reported as unresolved instead.
    for (;;) {
      this.#reconcileSecrets();
      const pending = [...this.#secrets.values()].filter((informer) => !informer.synced);
      const remainingMs = this.#holdUntil - performance.now();
      if (pending.length === 0 || remainingMs <= 0) break;
      if (!(await this.#until(pending, remainingMs))) throw stoppedBeforeSync();
    }
    this.#synced = true;
    this.#emit();
    this.#logger.info(
      { objects: this.#state.objects.length, secrets: this.#secrets.size },
      'initial sync complete',
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#onStop();
    clearTimeout(this.#timer);
    clearTimeout(this.#holdTimer);
    for (const informer of [...this.#informers, ...this.#secrets.values()]) informer.stop();
    this.#secrets.clear();
  }

  current(): SourceState {
    return this.#state;
  }

  /** Waits until every informer has listed once (or `timeoutMs`); false when stopped meanwhile. */
  async #until(informers: ResilientInformer[], timeoutMs?: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const waits: Array<Promise<unknown>> = [
      Promise.all(informers.map((i) => i.whenSynced())),
      this.#stoppedSignal,
    ];
    if (timeoutMs !== undefined) {
      waits.push(new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))));
    }
    await Promise.race(waits);
    clearTimeout(timer);
    return !this.#stopped;
  }

  #informer(resource: WatchedResource, namespace?: string, fieldSelector?: string): ResilientInformer {
    return new ResilientInformer({
      kubeConfig: this.#options.kubeConfig,
      resource,
      namespace,
      fieldSelector,
      logger: this.#logger,
      backoff: this.#options.backoff,
      onChange: () => this.#schedule(),
      onHealth: () => this.#schedule(),
    });
  }

  #schedule(): void {
    if (!this.#synced || this.#stopped || this.#timer) return;
    // Not reset by later events: a steady stream of events still gets emitted every window.
    this.#timer = setTimeout(() => this.#flush(), this.#options.debounceMs ?? 10);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#reconcileSecrets();
    const waiting = [...this.#secrets.values()].some((informer) => !informer.synced);
    const now = performance.now();
    if (waiting && now < this.#holdUntil) {
      // A Secret's first list calls #schedule; this is only the deadline.
      clearTimeout(this.#holdTimer);
      this.#holdTimer = setTimeout(() => this.#flush(), this.#holdUntil - now);
      return;
    }
    clearTimeout(this.#holdTimer);
    this.#emit();
  }

  /** Starts watching newly referenced Secrets and forgets the ones no longer referenced. */
  #reconcileSecrets(): void {
    const wanted = referencedSecrets(
      this.#informers.flatMap((informer) =>
        informer.resource.apiVersion === TOLLGATE_API_VERSION ? informer.list() : [],
      ),
    );
    for (const [key, informer] of this.#secrets) {
      if (wanted.has(key)) continue;
      informer.stop();
      this.#secrets.delete(key);
    }
    for (const [key, { namespace, name }] of wanted) {
      if (this.#secrets.has(key)) continue;
      const informer = this.#informer(SECRET_RESOURCE, namespace, `metadata.name=${name}`);
      this.#secrets.set(key, informer);
      informer.start();
      this.#holdUntil = performance.now() + (this.#options.secretWaitMs ?? 5_000);
    }
  }

  #emit(): void {
    const informers = [...this.#informers, ...this.#secrets.values()];
    const objects = informers.flatMap((informer) => informer.list());
    const problems: SourceProblem[] = [];
    for (const informer of informers) {
      if (informer.problem) problems.push({ location: informer.description, message: informer.problem });
    }
    this.#state = { objects, problems };
    this.emit('change', this.#state);
  }
}

/** An incomplete object set must never be mistaken for the first state (it would wipe routes). */
function stoppedBeforeSync(): Error {
  return Object.assign(new Error('the Kubernetes source was stopped before its first complete read'), {
    code: 'TG_ERR_SOURCE_STOPPED',
  });
}
