// Conversational prompts (TRL's `[{role, content}, ...]`) rendered to the plain text the byte-level
// tfjs models read, by a Jinja chat template (@huggingface/jinja, the engine transformers.js uses for
// Hugging Face chat templates). The default keeps the shipped models' input: they were trained on bare
// prompts, so a lone user message is exactly its content; longer conversations become one
// `role: content` line per message. `task.chat_template` replaces it (it sees `messages`).
import { Template } from '@huggingface/jinja';
import { z } from 'zod';

export const ChatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const DEFAULT_CHAT_TEMPLATE =
  "{%- if messages | length == 1 and messages[0].role == 'user' -%}{{ messages[0].content }}" +
  '{%- else -%}{%- for m in messages -%}{{ m.role }}: {{ m.content }}' +
  "{%- if not loop.last -%}{{ '\\n' }}{%- endif -%}{%- endfor -%}{%- endif -%}";

export type ChatRenderer = (messages: readonly ChatMessage[]) => string;

/** A renderer for `template`; a template that does not parse is an error naming `where`. */
export function chatRenderer(
  template: string = DEFAULT_CHAT_TEMPLATE,
  where = 'chat_template',
): ChatRenderer {
  let t: Template;
  try {
    t = new Template(template);
  } catch (e) {
    throw new Error(`${where}: not a valid Jinja template: ${(e as Error).message}`, { cause: e });
  }
  return (messages) => t.render({ messages: messages.map((m) => ({ ...m })), add_generation_prompt: false });
}

/** The default rendering (no template configured). */
export const renderChat: ChatRenderer = chatRenderer();
