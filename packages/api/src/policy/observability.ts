// Policy section `observability`: what the gateway may record about the requests it covers,
// beyond the metrics and spans every request gets. Off unless a Policy says otherwise, because
// prompts and completions carry user data.
import { z } from 'zod';

export const PolicyObservability = z
  .object({
    recordContent: z.boolean().default(false).meta({
      description:
        'Record prompts and completions of AI requests on their trace spans (gen_ai.input.messages, gen_ai.output.messages), after the guardrails of the same request have masked them. Off by default: spans then carry no content at all. Needs tracing to be on (OTEL_EXPORTER_OTLP_ENDPOINT).',
    }),
  })
  .meta({
    description:
      'What the gateway records about the covered requests beyond metrics and spans. The most specific Policy setting this section wins (Route rule, Route, AIProvider, Namespace); Consumer-attached Policies do not set it.',
  });
export type PolicyObservability = z.infer<typeof PolicyObservability>;
