// One Generate row → one OpenAI-style request body, and the endpoint's JSON answer → the choices a
// generator node reports. The answer is checked with zod: it comes from another program, and a
// wrong shape must be a clear error naming the endpoint, not a crash or an empty response.
import { z } from 'zod';
import type { EndpointConfig } from './endpoint-config.js';

export interface EndpointSampling {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
  n: number;
}

export interface EndpointChoice {
  text: string;
  /** "eos" (the endpoint's "stop": end of text or a stop sequence), "length", or the endpoint's own word. */
  finishReason: string;
  /** Σ token logprobs when `endpoint.logprobs` is on; 0 otherwise. */
  logprobSum: number;
}

/** The path and JSON body of the request for one prompt. */
export function requestFor(
  e: EndpointConfig,
  prompt: string,
  s: EndpointSampling,
): { path: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = {
    model: e.model,
    n: s.n,
    temperature: s.temperature,
    top_p: s.topP,
    max_tokens: s.maxNewTokens,
    seed: s.seed,
  };
  if (e.stop !== undefined) body.stop = e.stop;
  if (e.api === 'chat') {
    body.messages = [{ role: 'user', content: prompt }];
    if (e.logprobs) body.logprobs = true;
    return { path: '/chat/completions', body };
  }
  body.prompt = prompt;
  if (e.logprobs) body.logprobs = 1;
  return { path: '/completions', body };
}

const Finish = z.string().nullish();
const CompletionAnswer = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().optional(),
      text: z.string(),
      finish_reason: Finish,
      logprobs: z.unknown().optional(),
    }),
  ),
});
const ChatAnswer = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().optional(),
      message: z.object({ content: z.string().nullable() }),
      finish_reason: Finish,
      logprobs: z.unknown().optional(),
    }),
  ),
});
const LegacyLogprobs = z.object({ token_logprobs: z.array(z.number().nullable()) });
const ChatLogprobs = z.object({ content: z.array(z.object({ logprob: z.number() })) });

function logprobSum(e: EndpointConfig, logprobs: unknown): number {
  if (!e.logprobs) return 0;
  if (e.api === 'chat') {
    const r = ChatLogprobs.safeParse(logprobs);
    if (r.success) return r.data.content.reduce((a, t) => a + t.logprob, 0);
  } else {
    const r = LegacyLogprobs.safeParse(logprobs);
    if (r.success) return r.data.token_logprobs.reduce<number>((a, x) => a + (x ?? 0), 0);
  }
  throw new Error('the answer has no usable logprobs; set endpoint.logprobs: false for this server');
}

const finish = (f: string | null | undefined): string => (f === 'stop' ? 'eos' : (f ?? ''));

/** The n choices of an answer, by their index; an error says what is wrong with the answer. */
export function readChoices(e: EndpointConfig, answer: unknown, n: number): EndpointChoice[] {
  const parsed = (e.api === 'chat' ? ChatAnswer : CompletionAnswer).safeParse(answer);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new Error(`the answer is not a ${e.api} response: ${i.path.join('.') || 'body'}: ${i.message}`);
  }
  const choices = [...parsed.data.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  if (choices.length < n)
    throw new Error(
      `asked for n = ${n} and got ${choices.length} choice(s); if this server ignores n, set endpoint.split_n: true`,
    );
  return choices.slice(0, n).map((c) => ({
    text: 'message' in c ? (c.message.content ?? '') : c.text,
    finishReason: finish(c.finish_reason),
    logprobSum: logprobSum(e, c.logprobs),
  }));
}
