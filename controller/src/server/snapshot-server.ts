// The controller end of the config protocol: holds one bidirectional stream per data plane,
// pushes the whole snapshot whenever its version changes, and records which version each data
// plane runs from its ACKs and NACKs. State of the world: a data plane only ever needs the
// latest snapshot, so nothing is queued per stream beyond "what was sent last".
import { EventEmitter } from 'node:events';
import { Metadata, Server, type ServerDuplexStream, status } from '@grpc/grpc-js';
import {
  type ConfigRequest,
  type ConfigResponse,
  configDiscoveryDefinition,
  configResponse,
  encodeSnapshot,
  MAX_CONFIG_MESSAGE_BYTES,
  SERVER_OPTIONS,
  SNAPSHOT_ENCODING,
  Snapshot,
  serverCredentials,
  type TlsMaterial,
} from '@tollgate/snapshot';
import type { Logger } from '@tollgate/telemetry';
import { z } from 'zod';

export interface ConnectedNode {
  /** Unique per stream on this server; one data plane that reconnects gets a new one. */
  streamId: number;
  id: string;
  zone: string;
  buildVersion: string;
  /** Epoch milliseconds. */
  connectedAt: number;
  /** The version the data plane runs: from its last ACK, NACK or first request. */
  ackedVersion?: string;
  /** The latest rejection, until the data plane ACKs a newer version. */
  lastNack?: { version: string; message: string };
}

export interface SnapshotServerOptions {
  logger: Logger;
  /** Mutual TLS (client certificates required). Without it the server speaks plaintext. */
  tls?: TlsMaterial;
}

export interface SnapshotServerEvents {
  connect: [node: ConnectedNode];
  disconnect: [node: ConnectedNode];
  ack: [node: ConnectedNode, version: string];
  nack: [node: ConnectedNode, version: string, message: string];
}

interface Published {
  version: string;
  payload: Uint8Array;
}

interface StreamState {
  id: number;
  call: ServerDuplexStream<ConfigRequest, ConfigResponse>;
  /** Set by the first request; until then the stream gets nothing. */
  node?: ConnectedNode;
  nonceSeq: number;
  /** Nonce of the latest response not yet ACKed/NACKed; any other nonce is stale. */
  awaitingNonce?: string;
  sentVersion?: string;
  closed: boolean;
}

/** An empty version would be indistinguishable from "runs nothing" in the protocol. */
const PublishableSnapshot = Snapshot.refine((s) => s.version !== '', {
  path: ['version'],
  message: 'must not be empty',
});

/** Room for the protobuf envelope around the payload. */
const ENVELOPE_BYTES = 4096;

export class SnapshotServer extends EventEmitter<SnapshotServerEvents> {
  readonly #logger: Logger;
  readonly #tls: TlsMaterial | undefined;
  readonly #server = new Server(SERVER_OPTIONS);
  readonly #streams = new Map<number, StreamState>();
  #current: Published | undefined;
  #nextStreamId = 1;
  #closing = false;

  constructor(options: SnapshotServerOptions) {
    super();
    this.#logger = options.logger;
    this.#tls = options.tls;
    this.#server.addService(configDiscoveryDefinition, {
      streamConfig: (call: ServerDuplexStream<ConfigRequest, ConfigResponse>) => this.#accept(call),
    });
  }

  /** Binds and serves; resolves with the bound port (pass 0 for an ephemeral one). */
  listen(host: string, port: number): Promise<number> {
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, serverCredentials(this.#tls), (error, boundPort) => {
        if (error) reject(error);
        else {
          this.#logger.info(
            { address, port: boundPort, mtls: Boolean(this.#tls) },
            'snapshot server listening',
          );
          resolve(boundPort);
        }
      });
    });
  }

  /**
   * Makes `snapshot` the current version and pushes it to every connected data plane that does
   * not run it yet. Returns false, and publishes nothing, if it fails validation, is too large
   * for one message, or has the version already published.
   */
  publish(snapshot: Snapshot): boolean {
    const parsed = PublishableSnapshot.safeParse(snapshot);
    if (!parsed.success) {
      this.#logger.error(
        { code: 'TG_ERR_SNAPSHOT_INVALID', problems: z.prettifyError(parsed.error) },
        'snapshot failed validation; not published',
      );
      return false;
    }
    const { version } = parsed.data;
    if (version === this.#current?.version) {
      this.#logger.debug({ version }, 'snapshot unchanged; not republished');
      return false;
    }
    const payload = encodeSnapshot(parsed.data);
    if (payload.byteLength + ENVELOPE_BYTES > MAX_CONFIG_MESSAGE_BYTES) {
      this.#logger.error(
        {
          code: 'TG_ERR_SNAPSHOT_TOO_LARGE',
          version,
          bytes: payload.byteLength,
          limit: MAX_CONFIG_MESSAGE_BYTES,
        },
        'snapshot too large for one message; not published',
      );
      return false;
    }
    this.#current = { version, payload };
    for (const stream of this.#streams.values()) this.#push(stream);
    return true;
  }

  /** The latest published version; undefined until the first publish (streams are held until then). */
  get version(): string | undefined {
    return this.#current?.version;
  }

  nodes(): ConnectedNode[] {
    const nodes: ConnectedNode[] = [];
    for (const { node } of this.#streams.values()) {
      if (node) nodes.push({ ...node, ...(node.lastNack ? { lastNack: { ...node.lastNack } } : {}) });
    }
    return nodes;
  }

  /** Connected data planes currently running `version`. */
  ackedCount(version: string): number {
    let count = 0;
    for (const { node } of this.#streams.values()) if (node?.ackedVersion === version) count++;
    return count;
  }

  /**
   * Ends every stream (data planes reconnect, to another replica if there is one) and stops;
   * connections still open after `graceMs` are cut.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.#closing = true;
    for (const stream of this.#streams.values()) {
      if (!stream.closed) stream.call.end();
      this.#release(stream);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #accept(call: ServerDuplexStream<ConfigRequest, ConfigResponse>): void {
    if (this.#closing) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'snapshot server is shutting down' });
      return;
    }
    const stream: StreamState = { id: this.#nextStreamId++, call, nonceSeq: 0, closed: false };
    this.#streams.set(stream.id, stream);
    call.on('data', (request: ConfigRequest) => this.#onRequest(stream, request));
    // The data plane half-closed: nothing more will be acknowledged, so finish the stream.
    call.on('end', () => {
      if (!stream.closed) call.end();
    });
    call.on('cancelled', () => this.#release(stream));
    call.on('error', () => this.#release(stream));
    call.on('close', () => this.#release(stream));
  }

  #onRequest(stream: StreamState, request: ConfigRequest): void {
    if (stream.closed) return;
    if (!stream.node) {
      this.#hello(stream, request);
      return;
    }
    const node = stream.node;
    if (!request.responseNonce || request.responseNonce !== stream.awaitingNonce) {
      this.#logger.debug(
        { node: node.id, streamId: stream.id, nonce: request.responseNonce, awaiting: stream.awaitingNonce },
        'stale nonce; request ignored',
      );
      return;
    }
    stream.awaitingNonce = undefined;
    const sent = stream.sentVersion ?? '';
    // The data plane reports what it runs; an empty version means nothing yet.
    node.ackedVersion = request.versionInfo || undefined;
    if (request.errorDetail) {
      const message = request.errorDetail.message;
      node.lastNack = { version: sent, message };
      this.#logger.warn(
        {
          code: 'TG_ERR_SNAPSHOT_REJECTED',
          node: node.id,
          streamId: stream.id,
          version: sent,
          running: node.ackedVersion,
          reason: message,
        },
        'data plane rejected snapshot',
      );
      this.emit('nack', { ...node }, sent, message);
    } else {
      node.lastNack = undefined;
      this.#logger.debug(
        { node: node.id, streamId: stream.id, version: request.versionInfo },
        'data plane acked',
      );
      this.emit('ack', { ...node }, request.versionInfo);
    }
    // A newer version may have been published while this one was in flight.
    this.#push(stream);
  }

  #hello(stream: StreamState, request: ConfigRequest): void {
    const id = request.node?.id;
    if (!id) {
      this.#logger.warn(
        { streamId: stream.id, peer: stream.call.getPeer() },
        'first request without node id; refused',
      );
      stream.call.emit('error', {
        code: status.INVALID_ARGUMENT,
        details: 'the first ConfigRequest must identify the data plane (node.id)',
      });
      this.#release(stream);
      return;
    }
    stream.node = {
      streamId: stream.id,
      id,
      zone: request.node?.zone ?? '',
      buildVersion: request.node?.buildVersion ?? '',
      connectedAt: Date.now(),
      ...(request.versionInfo ? { ackedVersion: request.versionInfo } : {}),
    };
    // Headers now tell the data plane its stream is accepted, even while held before the first snapshot.
    stream.call.sendMetadata(new Metadata());
    this.#logger.info(
      {
        node: id,
        streamId: stream.id,
        zone: stream.node.zone,
        build: stream.node.buildVersion,
        running: request.versionInfo || undefined,
      },
      'data plane connected',
    );
    this.emit('connect', { ...stream.node });
    this.#push(stream);
  }

  /** Sends the current snapshot unless the stream was sent it already or the data plane runs it. */
  #push(stream: StreamState): void {
    const current = this.#current;
    const node = stream.node;
    if (!current || !node || stream.closed) return;
    if (current.version === stream.sentVersion || current.version === node.ackedVersion) return;
    const nonce = String(++stream.nonceSeq);
    stream.sentVersion = current.version;
    stream.awaitingNonce = nonce;
    stream.call.write(
      configResponse({
        versionInfo: current.version,
        nonce,
        snapshot: current.payload,
        encoding: SNAPSHOT_ENCODING,
      }),
    );
    this.#logger.debug(
      { node: node.id, streamId: stream.id, version: current.version, nonce },
      'snapshot sent',
    );
  }

  #release(stream: StreamState): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream.id);
    if (stream.node) {
      this.#logger.info({ node: stream.node.id, streamId: stream.id }, 'data plane disconnected');
      this.emit('disconnect', { ...stream.node });
    }
  }
}
