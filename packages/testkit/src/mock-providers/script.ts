// What a mock model "says": deterministic, so tests can assert on it. It echoes the last user
// text, or calls the first tool when tools are offered (and not refused) after a user turn, or
// acknowledges a tool result. Token counts are word counts plus fixed overheads, with distinct
// cached / cache-write / reasoning parts so metering can be checked field by field.

export type Reply =
  | { kind: 'text'; text: string }
  | { kind: 'tool'; id: string; name: string; arguments: string };

export interface Conversation {
  /** Every text in the prompt (system, messages, tool results). */
  promptTexts: string[];
  lastRole: 'user' | 'tool' | 'assistant' | 'other';
  lastText: string;
  toolNames: string[];
  toolsRefused: boolean;
}

export function words(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

export function replyTo(conversation: Conversation): Reply {
  const tool = conversation.toolNames[0];
  if (tool && !conversation.toolsRefused && conversation.lastRole === 'user') {
    return {
      kind: 'tool',
      id: 'call_mock_1',
      name: tool,
      arguments: JSON.stringify({ query: conversation.lastText }),
    };
  }
  if (conversation.lastRole === 'tool')
    return { kind: 'text', text: `The tool said: ${conversation.lastText}` };
  return { kind: 'text', text: `Echo: ${conversation.lastText} ☕ café` };
}

export function replyText(reply: Reply): string {
  return reply.kind === 'text' ? reply.text : reply.arguments;
}

/** The text pieces a reply streams as (words with their leading space). */
export function pieces(text: string): string[] {
  return text.split(/(?=\s)/);
}

export interface Counts {
  /** All prompt tokens (the gateway's meaning: cached and cache-write included). */
  input: number;
  output: number;
  cached: number;
  cacheWrite: number;
  reasoning: number;
}

export function countTokens(
  conversation: Conversation,
  reply: Reply,
  options: { cacheWrite: boolean; reasoning: boolean },
): Counts {
  const input = conversation.promptTexts.reduce((n, t) => n + words(t), 0) + 10;
  const output = words(replyText(reply)) + 3;
  return {
    input,
    output,
    cached: Math.min(2, input),
    cacheWrite: options.cacheWrite ? Math.min(3, input - 2) : 0,
    reasoning: options.reasoning ? 1 : 0,
  };
}
