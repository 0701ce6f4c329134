// The JSON answers of `tso serve`, in the shapes OpenAI documents for /v1/completions ("text_completion",
// legacy logprobs {tokens, token_logprobs, top_logprobs, text_offset}) and /v1/chat/completions
// ("chat.completion", logprobs {content: [{token, logprob, bytes, top_logprobs}]}).
// Tokens are bytes: a printable ASCII byte is shown as itself, any other byte as "bytes:\xNN" (OpenAI's
// own notation for partial UTF-8), the end-of-text token as "<|endoftext|>"; `bytes` always has the
// raw value. Log-probs are the model's at temperature 1, whatever temperature sampled the token.
import { randomUUID } from 'node:crypto';
import type { TokenStep } from '../model/generate.js';
import { EOS_ID } from '../model/tokenizer.js';
import type { Choice, Completion } from './complete.js';

export function tokenString(id: number): string {
  if (id === EOS_ID) return '<|endoftext|>';
  if (id >= 0x20 && id < 0x7f) return String.fromCharCode(id);
  if (id === 0x0a || id === 0x09) return String.fromCharCode(id);
  return `bytes:\\x${id.toString(16).padStart(2, '0')}`;
}

const tokenBytes = (id: number): number[] => (id === EOS_ID ? [] : [id]);

function legacyLogprobs(c: Choice) {
  const steps: TokenStep[] = c.steps ?? [];
  let offset = 0;
  const text_offset = c.bytes.map((b) => {
    const at = offset;
    offset += tokenString(b).length;
    return at;
  });
  return {
    tokens: c.bytes.map(tokenString),
    token_logprobs: steps.map((s) => s.logprob),
    top_logprobs: steps.map((s) => Object.fromEntries(s.top.map((t) => [tokenString(t.id), t.logprob]))),
    text_offset,
  };
}

function chatLogprobs(c: Choice) {
  return {
    content: (c.steps ?? []).map((s, i) => ({
      token: tokenString(c.bytes[i]),
      logprob: s.logprob,
      bytes: tokenBytes(c.bytes[i]),
      top_logprobs: s.top.map((t) => ({
        token: tokenString(t.id),
        logprob: t.logprob,
        bytes: tokenBytes(t.id),
      })),
    })),
    refusal: null,
  };
}

function usage(c: Completion) {
  return {
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    total_tokens: c.promptTokens + c.completionTokens,
  };
}

export interface AnswerMeta {
  model: string;
  /** Identifies the weights (and so, with the seed, the answer): "tso-<sha256 prefix>". */
  fingerprint: string;
}

export function completionAnswer(c: Completion, n: number, meta: AnswerMeta, logprobs: boolean) {
  return {
    id: `cmpl-${randomUUID()}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: meta.model,
    system_fingerprint: meta.fingerprint,
    choices: c.choices.map((ch) => ({
      index: ch.promptIndex * n + ch.sampleIndex,
      text: ch.text,
      logprobs: logprobs ? legacyLogprobs(ch) : null,
      finish_reason: ch.finishReason,
    })),
    usage: usage(c),
  };
}

export function chatAnswer(c: Completion, meta: AnswerMeta, logprobs: boolean) {
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: meta.model,
    system_fingerprint: meta.fingerprint,
    choices: c.choices.map((ch) => ({
      index: ch.sampleIndex,
      message: { role: 'assistant', content: ch.text, refusal: null },
      logprobs: logprobs ? chatLogprobs(ch) : null,
      finish_reason: ch.finishReason,
    })),
    usage: usage(c),
  };
}

export function modelEntry(meta: AnswerMeta, createdS: number) {
  return { id: meta.model, object: 'model', created: createdS, owned_by: 'tso' };
}
