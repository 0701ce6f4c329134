// Conversational prompts (TRL's `[{role, content}, ...]`) rendered to the plain text the byte-level
// tfjs models read. A simple, documented rendering instead of a model-specific chat template: the
// shipped models were trained on bare prompts, so a lone user message is exactly its content; longer
// conversations become one `role: content` line per message.
import { z } from 'zod';

export const ChatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export function renderChat(messages: readonly ChatMessage[]): string {
  if (messages.length === 1 && messages[0].role === 'user') return messages[0].content;
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n');
}
