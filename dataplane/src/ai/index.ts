export { type CompiledProvider, compileProviders } from './compiled-provider.ts';
export { AIGateway, type AIGatewayOptions, type AIServeContext } from './gateway.ts';
export type { Usage } from './metering/usage.ts';
export { parseUsageHeader, USAGE_HEADER } from './metering/usage-header.ts';
export { AIPlan, compileAIPlan } from './plan.ts';
export type * from './providers/types.ts';
