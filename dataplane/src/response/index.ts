export { CACHE_STATUS_HEADER, compileResponseCaching, type ResponseCaching } from './cache.ts';
export { type CachedResponse, type CacheLookup, type CacheStats, ResponseCacheStore } from './cache-store.ts';
export { type Compression, compileCompression } from './compression.ts';
