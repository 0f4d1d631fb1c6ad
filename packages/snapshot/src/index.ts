export * from './codec.ts';
export * from './edge-ir.ts';
export * from './gen/tollgate/config/v1/config_pb.ts';
export * from './grpc.ts';
export * from './guardrails-ir.ts';
export * from './ir.ts';
export * from './version.ts';
