// The content recorded on spans when a Policy opts in: conventions' shape, bounds, and masking of
// streamed completions by the response guardrails.
import type { RoutePolicyIR } from '@tollgate/snapshot';
import {
  genAIInputMessages,
  genAIOutputMessages,
  MAX_MESSAGES,
  MAX_PART_CHARS,
  maskedCompletion,
} from '../../src/observability/index.ts';
import { compileRouteGuardrails } from '../../src/policies/guardrails/index.ts';

function guardrails(section: NonNullable<RoutePolicyIR['guardrails']>) {
  return compileRouteGuardrails({ guardrails: section })!.for(undefined)!;
}

test('an Anthropic-shaped body gives its system prompt and text blocks as role + parts', () => {
  expect(
    genAIInputMessages({
      system: [{ type: 'text', text: 'be brief' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image' }] }],
    }),
  ).toEqual([
    { role: 'system', parts: [{ type: 'text', content: 'be brief' }] },
    { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
  ]);
});

test('a body without a conversation records no input', () => {
  expect(genAIInputMessages({ input: ['embed me'] })).toBeUndefined();
});

test('long texts are cut and long conversations keep their most recent messages', () => {
  const long = 'x'.repeat(MAX_PART_CHARS + 10);
  const [message] = genAIOutputMessages(long, 'length');
  expect(message!.parts[0]!.content).toBe(`${'x'.repeat(MAX_PART_CHARS)}…[10 characters not recorded]`);
  expect(message!.finish_reason).toBe('length');
  const many = Array.from({ length: MAX_MESSAGES + 5 }, (_, i) => ({ role: 'user', content: `m${i}` }));
  const kept = genAIInputMessages({ messages: many })!;
  expect(kept).toHaveLength(MAX_MESSAGES);
  expect(kept.at(-1)!.parts[0]!.content).toBe(`m${MAX_MESSAGES + 4}`);
});

test('a streamed completion is masked by the response guardrails before it reaches a span, and dropped when they would block it', () => {
  const masking = guardrails({
    from: 'policy/ai/p',
    responses: { pii: [{ type: 'email', action: 'mask' }] },
  });
  expect(maskedCompletion('reach me at a.b@example.com', masking)).toBe('reach me at <EMAIL>');
  const blocking = guardrails({
    from: 'policy/ai/p',
    responses: { pii: [{ type: 'email', action: 'block' }] },
  });
  expect(maskedCompletion('reach me at a.b@example.com', blocking)).toBeUndefined();
  expect(maskedCompletion('plain text', undefined)).toBe('plain text');
});
