// Images between OpenAI's image_url parts (https or data: URLs) and Anthropic's image sources.
import { isRecord } from '../http.ts';

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

export function imageSourceOf(url: string): Record<string, unknown> {
  const data = DATA_URL.exec(url);
  if (data) return { type: 'base64', media_type: data[1], data: data[2] };
  return { type: 'url', url };
}

export function imageURLOf(source: unknown): string | undefined {
  if (!isRecord(source)) return undefined;
  if (source.type === 'base64' && typeof source.data === 'string')
    return `data:${typeof source.media_type === 'string' ? source.media_type : 'image/png'};base64,${source.data}`;
  if (source.type === 'url' && typeof source.url === 'string') return source.url;
  return undefined;
}
