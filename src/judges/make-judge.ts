// Judge plug-ins from config (the `judge:` block of a judge node's YAML):
//
//   judge: { type: heuristic, seed: 7, error_rate: 0.15 }
//   judge: { type: model, model_dir: models/gen-large }
//   judge: { type: openai, base_url: http://127.0.0.1:8000/v1, model: qwen2.5-7b-instruct,
//            api_key_env: OPENAI_API_KEY, cache_path: runs/judge-cache.jsonl }
//
// Every object is strict (unknown keys are errors). Relative paths (model_dir, cache_path) are
// resolved against `baseDir` (default: the current directory). The `openai` judge asks one order per
// call; the correction step asks both orders (compareBothOrders) to cancel position bias.
import path from 'node:path';
import { z } from 'zod';
import { parseConfig } from '../config/load-config.js';
import type { Logger } from '../util/log.js';
import { demoPlausibility } from '../tasks/demo/plausibility.js';
import { HeuristicJudge } from './heuristic-judge.js';
import { ModelJudge } from './model-judge.js';
import { OpenAIJudge } from './openai-judge.js';
import type { Judge } from './types.js';

const unit = z.number().min(0).max(1);

export const HeuristicJudgeConfigSchema = z.strictObject({
  type: z.literal('heuristic'),
  seed: z.union([z.number().int(), z.string()]).optional(),
  /** Probability of flipping a decisive verdict (default 0.15). */
  error_rate: unit.optional(),
  /** Confidence of a verdict decided by the length bias alone (default 0.55). */
  length_bias_confidence: unit.optional(),
});

export const ModelJudgeConfigSchema = z.strictObject({
  type: z.literal('model'),
  model_dir: z.string().min(1),
  /** |Δ mean log-prob per token| below this is a tie (default 0.01). */
  epsilon: z.number().min(0).optional(),
  /** Gap (nats/token) at which confidence reaches 1 (default 1). */
  scale: z.number().gt(0).optional(),
  batch_size: z.number().int().min(1).optional(),
});

const PLACEHOLDERS = ['{prompt}', '{a}', '{b}'];

export const OpenAIJudgeConfigSchema = z.strictObject({
  type: z.literal('openai'),
  /** e.g. https://api.openai.com/v1 (the judge POSTs to `${base_url}/chat/completions`). */
  base_url: z.string().regex(/^https?:\/\/\S+$/i, 'expected an http(s) URL'),
  model: z.string().min(1),
  /** Name of the environment variable holding the API key; omit for endpoints that need none. */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
    .optional(),
  /** User message with {prompt}, {a} and {b}; default asks for exactly "A", "B" or "TIE". */
  prompt_template: z
    .string()
    .refine((t) => PLACEHOLDERS.every((p) => t.includes(p)), {
      message: 'must contain the placeholders {prompt}, {a} and {b}',
    })
    .optional(),
  system_prompt: z.string().optional(),
  temperature: z.number().min(0).max(2).default(0),
  max_tokens: z.number().int().min(1).optional(),
  timeout_ms: z.number().int().min(1).optional(),
  max_retries: z.number().int().min(0).optional(),
  backoff_ms: z.number().min(0).optional(),
  max_backoff_ms: z.number().min(0).optional(),
  /** Confidence of a verdict when the endpoint returns no logprobs (default 0.8). */
  default_confidence: unit.optional(),
  /** Request token logprobs (default true); false for endpoints that reject the field. */
  logprobs: z.boolean().optional(),
  /** Largest response body read, bytes (default 1 MiB); a larger answer fails the call. */
  max_response_bytes: z.number().int().min(1024).optional(),
  /** JSONL verdict cache reused across runs. */
  cache_path: z.string().min(1).optional(),
});

export const JudgeConfigSchema = z.discriminatedUnion('type', [
  HeuristicJudgeConfigSchema,
  ModelJudgeConfigSchema,
  OpenAIJudgeConfigSchema,
]);

export type JudgeConfig = z.infer<typeof JudgeConfigSchema>;
export type JudgeConfigInput = z.input<typeof JudgeConfigSchema>;
export type JudgeType = JudgeConfig['type'];

export interface MakeJudgeOptions {
  /** Directory relative paths are resolved against (default: process.cwd()). */
  baseDir?: string;
  /** Environment for api_key_env (default process.env). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Named in config errors. */
  sourceName?: string;
}

/** A judge, plus `dispose` for judges that hold resources (the model judge's weights). */
export type ConfiguredJudge = Judge & { dispose?: () => void };

/** Validates `config` (a ConfigError lists every problem) and builds the judge. */
export async function makeJudge(config: unknown, options: MakeJudgeOptions = {}): Promise<ConfiguredJudge> {
  const c = parseConfig(config, JudgeConfigSchema, options.sourceName);
  const resolve = (p: string): string => path.resolve(options.baseDir ?? process.cwd(), p);
  switch (c.type) {
    case 'heuristic':
      return new HeuristicJudge({
        seed: c.seed,
        errorRate: c.error_rate,
        lengthBiasConfidence: c.length_bias_confidence,
        // The heuristic judge is the demo's judge: its cheap checks are the demo task's.
        task: { plausibility: demoPlausibility },
      });
    case 'model':
      return ModelJudge.fromDir(resolve(c.model_dir), {
        epsilon: c.epsilon,
        scale: c.scale,
        batchSize: c.batch_size,
      });
    case 'openai':
      return new OpenAIJudge({
        baseUrl: c.base_url,
        model: c.model,
        apiKeyEnv: c.api_key_env,
        promptTemplate: c.prompt_template,
        systemPrompt: c.system_prompt,
        temperature: c.temperature,
        maxTokens: c.max_tokens,
        timeoutMs: c.timeout_ms,
        maxRetries: c.max_retries,
        backoffMs: c.backoff_ms,
        maxBackoffMs: c.max_backoff_ms,
        defaultConfidence: c.default_confidence,
        logprobs: c.logprobs,
        maxResponseBytes: c.max_response_bytes,
        cachePath: c.cache_path === undefined ? undefined : resolve(c.cache_path),
        env: options.env,
        logger: options.logger,
      });
  }
}
