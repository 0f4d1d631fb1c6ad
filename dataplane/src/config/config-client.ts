// The data-plane end of the config protocol: one stream to the controller, the whole snapshot on
// every change, each one decoded, validated and applied one at a time, then ACKed or NACKed.
// The last good snapshot outlives the connection: while the controller is away the data plane
// keeps serving it, and on reconnect reports it so an unchanged controller sends nothing.
import { EventEmitter } from 'node:events';
import type { ClientDuplexStream, StatusObject } from '@grpc/grpc-js';
import {
  type ClientTlsMaterial,
  ConfigDiscoveryClient,
  type ConfigRequest,
  type ConfigResponse,
  channelCredentials,
  channelOptions,
  configRequest,
  type Snapshot,
  SnapshotDecoder,
} from '@tollgate/snapshot';
import type { Logger } from '@tollgate/telemetry';

export interface ConfigClientOptions {
  /** Controller address, `host:port`. */
  address: string;
  node: { id: string; zone?: string; buildVersion: string };
  logger: Logger;
  /** Mutual TLS; without it the channel is plaintext (loopback / standalone). */
  tls?: ClientTlsMaterial;
  /** Applies a decoded, validated snapshot. Throwing (or rejecting) NACKs it with the error's message. */
  onSnapshot(snapshot: Snapshot): void | Promise<void>;
  /** Reconnect delays: full jitter over an exponential ceiling from initialMs up to maxMs. */
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface ConfigClientEvents {
  applied: [version: string];
  rejected: [version: string, error: Error];
  connected: [];
  disconnected: [];
}

/** One stream attempt. Its own flags, so late events from an old stream never touch a new one. */
interface Session {
  client: ConfigDiscoveryClient;
  call: ClientDuplexStream<ConfigRequest, ConfigResponse>;
  connected: boolean;
  ended: boolean;
  /** The newest response received; an older one still queued is skipped, not applied. */
  latestNonce?: string;
}

const DEFAULT_INITIAL_BACKOFF_MS = 250;
const DEFAULT_MAX_BACKOFF_MS = 10_000;

export class ConfigClient extends EventEmitter<ConfigClientEvents> {
  readonly #options: ConfigClientOptions;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  #running = false;
  #session: Session | undefined;
  #version: string | undefined;
  #failedAttempts = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  /** Responses are applied strictly one after another through this chain. */
  #applying: Promise<void> = Promise.resolve();
  /** Parses and validates only what changed since the previous snapshot (see SnapshotDecoder). */
  readonly #decoder = new SnapshotDecoder();

  constructor(options: ConfigClientOptions) {
    super();
    this.#options = options;
    this.#initialBackoffMs = Math.max(1, options.backoff?.initialMs ?? DEFAULT_INITIAL_BACKOFF_MS);
    this.#maxBackoffMs = Math.max(this.#initialBackoffMs, options.backoff?.maxMs ?? DEFAULT_MAX_BACKOFF_MS);
  }

  /** The version of the last snapshot applied; kept across disconnects. */
  get version(): string | undefined {
    return this.#version;
  }

  /** True while a stream to the controller is established. */
  get connected(): boolean {
    return this.#session?.connected ?? false;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  /** Closes the stream, stops reconnecting, and waits for a snapshot being applied to finish. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const session = this.#session;
    if (session) {
      session.call.cancel();
      this.#ended(session, undefined);
    }
    await this.#applying;
  }

  #connect(): void {
    const { address, tls, node, logger } = this.#options;
    // A fresh channel per attempt (with its own subchannel) so this class alone decides the
    // reconnect schedule, rather than stacking it on the channel's internal backoff.
    const client = new ConfigDiscoveryClient(address, channelCredentials(tls), {
      ...channelOptions(tls),
      'grpc.use_local_subchannel_pool': 1,
    });
    const call = client.streamConfig();
    const session: Session = { client, call, connected: false, ended: false };
    this.#session = session;
    // The controller sends headers once it accepts the stream, before any snapshot exists.
    call.on('metadata', () => this.#established(session));
    call.on('data', (response: ConfigResponse) => {
      this.#established(session);
      session.latestNonce = response.nonce;
      logger.debug({ version: response.versionInfo, nonce: response.nonce }, 'snapshot received');
      this.#applying = this.#applying
        .then(() => this.#handle(session, response))
        .catch((error: unknown) => logger.error({ err: error }, 'config response handling failed'));
    });
    // Every failure also ends in a 'status' event; this listener keeps it from being thrown.
    call.on('error', () => {});
    call.on('status', (status: StatusObject) => this.#ended(session, status));
    logger.debug({ address, running: this.#version }, 'opening config stream');
    call.write(
      configRequest({
        node: { id: node.id, zone: node.zone ?? '', buildVersion: node.buildVersion },
        versionInfo: this.#version ?? '',
      }),
    );
  }

  #established(session: Session): void {
    if (session.connected || session.ended) return;
    session.connected = true;
    this.#failedAttempts = 0;
    this.#options.logger.info(
      { address: this.#options.address, running: this.#version },
      'connected to controller',
    );
    this.emit('connected');
  }

  async #handle(session: Session, response: ConfigResponse): Promise<void> {
    // Only the newest snapshot matters; the controller ignores answers to older nonces anyway.
    if (!this.#running || response.nonce !== session.latestNonce) return;
    const { logger } = this.#options;
    const version = response.versionInfo;
    if (version === this.#version) {
      this.#reply(session, { versionInfo: version, responseNonce: response.nonce });
      return;
    }
    try {
      // Unchanged entries come back as the objects the running generation was compiled from; what
      // is left to parse and validate runs in slices between which queued requests are served.
      const snapshot = await this.#decoder.decode(response.snapshot, response.encoding);
      if (snapshot.version !== version) {
        throw new Error(`snapshot carries version ${snapshot.version} but the response says ${version}`);
      }
      // Requests that queued during the last slice of decoding run before compiling starts.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.#options.onSnapshot(snapshot);
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      logger.warn(
        { code: 'TG_ERR_SNAPSHOT_REJECTED', version, running: this.#version, reason: error.message },
        'snapshot rejected; keeping the running one',
      );
      this.#reply(session, {
        versionInfo: this.#version ?? '',
        responseNonce: response.nonce,
        errorDetail: { message: error.message },
      });
      this.emit('rejected', version, error);
      return;
    }
    this.#version = version;
    logger.info({ version }, 'snapshot applied');
    this.#reply(session, { versionInfo: version, responseNonce: response.nonce });
    this.emit('applied', version);
  }

  #reply(session: Session, init: Parameters<typeof configRequest>[0]): void {
    if (session.ended || !this.#running) return;
    session.call.write(configRequest(init));
  }

  #ended(session: Session, status: StatusObject | undefined): void {
    if (session.ended) return;
    session.ended = true;
    session.client.close();
    if (this.#session === session) this.#session = undefined;
    if (session.connected) {
      if (status) {
        this.#options.logger.warn({ grpcCode: status.code, details: status.details }, 'config stream ended');
      }
      this.emit('disconnected');
    }
    if (this.#running) this.#scheduleReconnect(session.connected ? undefined : status);
  }

  #scheduleReconnect(failure: StatusObject | undefined): void {
    const ceiling = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** this.#failedAttempts);
    const delayMs = Math.round(Math.random() * ceiling);
    this.#failedAttempts++;
    if (failure) {
      this.#options.logger.warn(
        {
          code: 'TG_ERR_CONTROLLER_UNAVAILABLE',
          address: this.#options.address,
          grpcCode: failure.code,
          details: failure.details,
          attempt: this.#failedAttempts,
          retryInMs: delayMs,
          running: this.#version,
        },
        'cannot reach controller; serving the last snapshot meanwhile',
      );
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#running) this.#connect();
    }, delayMs);
  }
}
