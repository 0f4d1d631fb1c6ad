// client-node's Watch with the guards its ListWatch lacks: every watch asks the API server to end
// it after 5-10 minutes (as client-go does) and is aborted locally if it outlives that, so a
// connection that died without a FIN cannot freeze the informer; bookmarks keep the resume point
// fresh; and once stopped, a watch that was still connecting is closed instead of leaking.
import { randomInt } from 'node:crypto';
import { type KubeConfig, Watch } from '@kubernetes/client-node';

const MIN_TIMEOUT_S = 300;
const MAX_TIMEOUT_S = 600;
/** How long past its server-side timeout a watch may stay open before it is presumed dead. */
const GRACE_S = 30;

type QueryParams = Record<string, string | number | boolean | undefined>;
type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (error: unknown) => void;

export class BoundedWatch extends Watch {
  #stopped = false;
  readonly #open = new Set<AbortController>();

  constructor(kubeConfig: KubeConfig) {
    super(kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: QueryParams,
    callback: WatchCallback,
    done: DoneCallback,
  ): Promise<AbortController> {
    const timeoutSeconds = randomInt(MIN_TIMEOUT_S, MAX_TIMEOUT_S + 1);
    let ended = false;
    let deadline: NodeJS.Timeout | undefined;
    let controller: AbortController | undefined;
    const finish: DoneCallback = (error) => {
      ended = true;
      clearTimeout(deadline);
      if (controller) this.#open.delete(controller);
      done(error);
    };
    controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds },
      callback,
      finish,
    );
    if (!ended) {
      if (this.#stopped) {
        controller.abort();
      } else {
        this.#open.add(controller);
        const abort = controller;
        deadline = setTimeout(() => abort.abort(), (timeoutSeconds + GRACE_S) * 1000);
        deadline.unref();
      }
    }
    return controller;
  }

  /** Closes open watches now and any watch still connecting as soon as it connects. */
  stop(): void {
    this.#stopped = true;
    for (const controller of this.#open) controller.abort();
    this.#open.clear();
  }
}
