// How chat messages become the one prompt a tso model answers. The built-in models are byte-level
// and trained on single-turn "BOS prompt \n response EOS" sequences with no roles, so the template is
// deliberately simple: the prompt is the content of the LAST user message (text parts joined with
// no separator); system, developer, assistant and tool messages and earlier turns are not shown to
// the model. A chat with no user message is a 400.
import { ApiError } from './api-error.js';
import type { ChatMessage } from './request-schemas.js';

export function contentText(content: ChatMessage['content']): string {
  if (content === null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

export function chatPrompt(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i].role === 'user') return contentText(messages[i].content);
  throw new ApiError(400, 'messages: at least one message with role "user" is required', 'messages');
}
