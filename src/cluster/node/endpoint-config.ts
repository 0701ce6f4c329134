// `endpoint:` of a generator node with `backend: openai`: the OpenAI-compatible server (vLLM, SGLang,
// llama.cpp, Ollama, OpenAI, another cluster's `tso serve`) whose model is this matrix member.
//
//   role: generator
//   backend: openai
//   endpoint: { base_url: http://127.0.0.1:8000/v1, model: qwen2.5-0.5b-instruct, api: chat }
import { z } from 'zod';

const StopSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)], {
  error: 'expected a non-empty string or a list of 1 to 4 non-empty strings',
});

export const EndpointConfigSchema = z.strictObject({
  /** API root; requests go to `${base_url}/completions` or `${base_url}/chat/completions`. */
  base_url: z
    .string()
    .regex(
      /^https?:\/\/[^\s/]+(\/\S*)?$/i,
      'expected an http(s) URL of the API root, e.g. http://127.0.0.1:8000/v1',
    ),
  /** The model name the endpoint serves (its GET /v1/models lists them). */
  model: z.string().min(1),
  /** `completions`: the prompt as is; `chat`: the prompt as one user message (the server's chat template). */
  api: z.enum(['completions', 'chat']).default('completions'),
  /** Environment variable holding the API key; omit for endpoints that need none. */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name, e.g. OPENAI_API_KEY')
    .optional(),
  /** Requests in flight at once from this node. */
  max_concurrency: z.number().int().min(1).max(256).default(4),
  /** Per-request timeout, seconds (each retry gets its own; all of them end before the RPC deadline). */
  timeout_s: z.number().gt(0).max(3600).default(60),
  max_retries: z.number().int().min(0).max(20).default(3),
  /** Stop sequences sent with every request. */
  stop: StopSchema.optional(),
  /** One request per sample (seed derived per sample) for servers that ignore `n`. */
  split_n: z.boolean().default(false),
  /** Ask for token logprobs and report their sum as the response's log-prob (0 otherwise). */
  logprobs: z.boolean().default(false),
  /** Largest answer read, bytes (default 4 MiB). */
  max_response_bytes: z.number().int().min(1024).optional(),
});

export type EndpointConfig = z.infer<typeof EndpointConfigSchema>;

/** What lineage records as the weights: the endpoint and its model, e.g. "openai:qwen@http://h:8000/v1". */
export function endpointVersion(e: EndpointConfig): string {
  return `openai:${e.model}@${e.base_url.replace(/\/+$/, '')}`;
}
