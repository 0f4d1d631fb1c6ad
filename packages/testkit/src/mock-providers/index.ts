export * from './anthropic.ts';
export * from './bedrock.ts';
export * from './gemini.ts';
export * from './openai.ts';
export { SSEWriter } from './sse.ts';
export type * from './types.ts';
