// The gRPC binding of the ConfigDiscovery service for @grpc/grpc-js, built from the generated
// protobuf-es schemas, plus the transport settings both sides must agree on.
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  credentials,
  type handleBidiStreamingCall,
  type Metadata,
  type MethodDefinition,
  makeGenericClientConstructor,
  ServerCredentials,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  ConfigDiscovery,
  type ConfigRequest,
  ConfigRequestSchema,
  type ConfigResponse,
  ConfigResponseSchema,
} from './gen/tollgate/config/v1/config_pb.ts';

/** gRPC's 4 MiB default is far too small: a 10,000-route snapshot must fit in one message. */
export const MAX_CONFIG_MESSAGE_BYTES = 64 * 1024 * 1024;

const messageLimits = {
  'grpc.max_receive_message_length': MAX_CONFIG_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_CONFIG_MESSAGE_BYTES,
} as const;

/**
 * Data-plane channel settings. Keepalive pings find a controller that vanished without closing
 * the connection (node lost, network partition) so the client reconnects instead of waiting
 * forever on a dead stream.
 */
export const CHANNEL_OPTIONS: ChannelOptions = {
  ...messageLimits,
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/** Controller settings: the same limits, and pings that drop streams of vanished data planes. */
export const SERVER_OPTIONS: ChannelOptions = {
  ...messageLimits,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

/** PEM-encoded mutual TLS material: the CA both sides trust, and this side's certificate and key. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface ClientTlsMaterial extends TlsMaterial {
  /** Name to verify in the controller's certificate when it differs from the dialled host. */
  serverName?: string;
}

/** mTLS when material is given (client certificates required); plaintext otherwise (loopback). */
export function serverCredentials(tls?: TlsMaterial): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

export function channelCredentials(tls?: TlsMaterial): ChannelCredentials {
  return tls ? credentials.createSsl(tls.ca, tls.key, tls.cert) : credentials.createInsecure();
}

/** CHANNEL_OPTIONS plus what the TLS material asks for. */
export function channelOptions(tls?: ClientTlsMaterial): ChannelOptions {
  return tls?.serverName
    ? {
        ...CHANNEL_OPTIONS,
        'grpc.ssl_target_name_override': tls.serverName,
        'grpc.default_authority': tls.serverName,
      }
    : { ...CHANNEL_OPTIONS };
}

/** Builds a request message (so callers need not depend on @bufbuild/protobuf themselves). */
export function configRequest(init: MessageInitShape<typeof ConfigRequestSchema> = {}): ConfigRequest {
  return create(ConfigRequestSchema, init);
}

export function configResponse(init: MessageInitShape<typeof ConfigResponseSchema> = {}): ConfigResponse {
  return create(ConfigResponseSchema, init);
}

function serializer<Desc extends DescMessage>(schema: Desc): (message: MessageShape<Desc>) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<Desc extends DescMessage>(schema: Desc): (bytes: Buffer) => MessageShape<Desc> {
  return (bytes) => fromBinary(schema, bytes);
}

const streamConfigMethod = ConfigDiscovery.method.streamConfig;

/** Full gRPC path of the one RPC: `/tollgate.config.v1.ConfigDiscovery/StreamConfig`. */
export const STREAM_CONFIG_PATH = `/${ConfigDiscovery.typeName}/${streamConfigMethod.name}`;

export interface ConfigDiscoveryHandlers extends UntypedServiceImplementation {
  streamConfig: handleBidiStreamingCall<ConfigRequest, ConfigResponse>;
}

export const configDiscoveryDefinition: {
  streamConfig: MethodDefinition<ConfigRequest, ConfigResponse>;
} = {
  streamConfig: {
    path: STREAM_CONFIG_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializer(ConfigRequestSchema),
    requestDeserialize: deserializer(ConfigRequestSchema),
    responseSerialize: serializer(ConfigResponseSchema),
    responseDeserialize: deserializer(ConfigResponseSchema),
    originalName: streamConfigMethod.name,
  },
};

/** The typed grpc-js client of ConfigDiscovery. */
export interface ConfigDiscoveryClient extends Client {
  streamConfig(metadata?: Metadata, options?: CallOptions): ClientDuplexStream<ConfigRequest, ConfigResponse>;
}

export type ConfigDiscoveryClientConstructor = new (
  address: string,
  credentials: ChannelCredentials,
  options?: ChannelOptions,
) => ConfigDiscoveryClient;

export const ConfigDiscoveryClient = makeGenericClientConstructor(
  configDiscoveryDefinition,
  ConfigDiscovery.typeName,
) as unknown as ConfigDiscoveryClientConstructor;
