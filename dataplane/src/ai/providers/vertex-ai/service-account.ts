// A Google service-account JSON key, parsed (zod) from the AIProvider's credentials.
import { z } from 'zod';

export const ServiceAccountKey = z.object({
  type: z.literal('service_account'),
  client_email: z.string().min(1),
  private_key: z.string().min(1),
  private_key_id: z.string().optional(),
  token_uri: z.url().default('https://oauth2.googleapis.com/token'),
});
export type ServiceAccountKey = z.infer<typeof ServiceAccountKey>;

/** The key, or undefined when the text is not a service-account JSON key. */
export function parseServiceAccountKey(text: string): ServiceAccountKey | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = ServiceAccountKey.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
