// The ModelNode service of a generator whose model lives behind an OpenAI-compatible endpoint
// (`backend: openai`): Generate turns each prompt into a /completions or /chat/completions request
// (n, temperature, top_p, max_tokens, seed, stop) through the shared HTTP client, at most
// max_concurrency at a time, and answers — and publishes on NATS — like any generator node. Lineage
// names the endpoint and model (weight_version "openai:<model>@<base_url>"). top_k is not an OpenAI
// parameter: it is not sent, and lineage records 0. token_ids stay empty (the endpoint's tokens are
// not tso's bytes). Score, LoadWeights and the training RPCs are UNIMPLEMENTED: there are no weights.
import { apiKeyFromEnv, OpenAIClient } from '../../http/openai-client.js';
import { OpenAIHttpError } from '../../http/openai-errors.js';
import type { SamplingOverride } from '../../model/generate.js';
import { deriveSeed } from '../../model/seeded-normal.js';
import { mapPool } from '../../util/map-pool.js';
import type { Logger } from '../../util/log.js';
import {
  defineService,
  GrpcStatusError,
  ResponseSource,
  status,
  type CallContext,
  type GenerateResponse,
  type MessageInput,
  type NatsConnection,
  type ServiceRegistration,
} from '../../transport/index.js';
import { endpointVersion, type EndpointConfig } from './endpoint-config.js';
import { readChoices, requestFor, type EndpointChoice } from './endpoint-request.js';
import type { ModelNodeDeps } from './model-node-service.js';
import { publishResponseCopy, resolveGenerate } from './generate-request.js';

export interface EndpointNodeDeps {
  info: ModelNodeDeps['info'];
  endpoint: EndpointConfig;
  nc: NatsConnection;
  generateBatch: number;
  sampling?: SamplingOverride;
  log: Logger;
  env?: Record<string, string | undefined>;
}

/** Left of the RPC deadline for answering after the last request. */
const DEADLINE_MARGIN_MS = 250;

function grpcError(e: unknown, where: string): GrpcStatusError {
  if (e instanceof GrpcStatusError) return e;
  if (!(e instanceof OpenAIHttpError))
    return new GrpcStatusError(status.FAILED_PRECONDITION, `${where}: ${(e as Error).message}`);
  const code =
    e.kind === 'aborted'
      ? status.CANCELLED
      : e.kind === 'budget' || e.kind === 'timeout'
        ? status.DEADLINE_EXCEEDED
        : e.kind === 'network' || (e.status !== undefined && (e.status === 429 || e.status >= 500))
          ? status.UNAVAILABLE
          : status.FAILED_PRECONDITION;
  return new GrpcStatusError(code, e.message);
}

function deadlineOf(ctx: CallContext): number | undefined {
  const d = ctx.deadline instanceof Date ? ctx.deadline.getTime() : ctx.deadline;
  return Number.isFinite(d) ? d : undefined;
}

export function endpointNodeService(d: EndpointNodeDeps): ServiceRegistration {
  const e = d.endpoint;
  const where = `endpoint ${e.base_url} (${e.model})`;
  const client = new OpenAIClient({
    baseUrl: e.base_url,
    apiKey: apiKeyFromEnv(e.api_key_env, where, d.env),
    label: where,
    timeoutMs: e.timeout_s * 1000,
    maxRetries: e.max_retries,
    maxResponseBytes: e.max_response_bytes ?? 4 * 1024 * 1024,
    logger: d.log,
  });
  const noWeights = async (): Promise<never> => {
    throw new GrpcStatusError(
      status.UNIMPLEMENTED,
      `this generator answers through ${where}; it has no weights to score, load or train`,
    );
  };

  return defineService('tso.v1.ModelNode', {
    describe: () => d.info(),

    generate: async function* (req, ctx) {
      const { sampling: s, n } = resolveGenerate(req, d.sampling);
      const used = { ...s, topK: 0 }; // what the endpoint was actually asked for
      const deadline = deadlineOf(ctx);
      const info = d.info();
      const P = req.prompts.length;
      const ask = async (t: Task): Promise<EndpointChoice[]> => {
        const budgetMs = deadline === undefined ? undefined : deadline - Date.now() - DEADLINE_MARGIN_MS;
        if (budgetMs !== undefined && budgetMs <= 0)
          throw new GrpcStatusError(
            status.DEADLINE_EXCEEDED,
            `${where}: no time left before the RPC deadline`,
          );
        const { path, body } = requestFor(e, t.text, { ...s, seed: t.seed, n: t.n });
        try {
          const answer = await client.post(path, body, { signal: ctx.signal, budgetMs });
          return readChoices(e, answer.body, t.n);
        } catch (err) {
          throw grpcError(err, where);
        }
      };
      let seq = 0;
      for (let i = 0; i < P; i += d.generateBatch) {
        if (ctx.signal.aborted) return;
        const chunk = req.prompts.slice(i, i + d.generateBatch);
        // split_n: one request per sample, seeded per (sample, prompt) like a local node's rows;
        // otherwise one request per prompt asks the endpoint for all n samples under one seed.
        const tasks: Task[] = e.split_n
          ? Array.from({ length: n }, (_, k) =>
              chunk.map((p, j) => ({
                ...task(p, i + j),
                sample: k,
                n: 1,
                seed: deriveSeed(s.seed, k * P + i + j),
              })),
            ).flat()
          : chunk.map((p, j) => ({ ...task(p, i + j), sample: 0, n, seed: deriveSeed(s.seed, i + j) }));
        const answers = await mapPool(tasks, e.max_concurrency, ask, ctx.signal).catch((err: unknown) => {
          throw grpcError(err, where);
        });
        const out: MessageInput<'tso.v1.GenerateResponse'>[] = tasks.flatMap((t, k) =>
          answers[k].map((c, j) => ({
            promptId: t.id,
            sampleIndex: t.sample + j,
            text: c.text,
            tokenIds: [],
            logprobSum: c.logprobSum,
            finishReason: c.finishReason,
            lineage: {
              nodeId: info.nodeId,
              modelName: info.modelName,
              weightVersion: endpointVersion(e),
              sampling: used,
              seed: t.seed,
              tier: info.tier,
              source: ResponseSource.GENERATOR,
            },
          })),
        );
        await publishResponseCopy(d.nc, req, info.nodeId, out as GenerateResponse[], seq++);
        yield* out;
      }
    },

    score: noWeights,
    loadWeights: noWeights,
    computeGradients: noWeights,
    snapshot: noWeights,
    restore: noWeights,
  });
}

interface Task {
  id: string;
  text: string;
  index: number;
  sample: number;
  n: number;
  seed: number;
}

const task = (p: { id: string; text: string }, index: number) => ({ id: p.id, text: p.text, index });
