// What every generator node — a tfjs model or an OpenAI-compatible endpoint — checks and resolves of a
// Generate request, in one place: the bounds on prompts and samples, and the sampling actually used
// (protobuf defaults read as unset, then the node's own override key by key), and the NATS copy of
// each streamed batch.
import { effectiveSampling, type SamplingOverride } from '../../model/generate.js';
import { GrpcStatusError, publishMessage, status, type NatsConnection } from '../../transport/index.js';
import type { GenerateRequest, GenerateResponse, SamplingParams } from '../../transport/proto/types.js';
import { checkCount, REQUEST_LIMITS } from './request-limits.js';

const MAX_PROMPTS = 10_000;

/** The request's sampling as this node uses it, and n (≥ 1); INVALID_ARGUMENT beyond the bounds. */
export function resolveGenerate(
  req: GenerateRequest,
  nodeSampling: SamplingOverride | undefined,
): { sampling: SamplingParams; n: number } {
  if (req.prompts.length === 0 || req.prompts.length > MAX_PROMPTS)
    throw new GrpcStatusError(
      status.INVALID_ARGUMENT,
      `prompts: expected 1..${MAX_PROMPTS}, got ${req.prompts.length}`,
    );
  if (!req.sampling) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'sampling: required');
  // Protobuf defaults: top_p 0 and max_new_tokens 0 mean "unset". Then this node's override.
  const sampling = effectiveSampling(
    {
      ...req.sampling,
      topP: req.sampling.topP > 0 ? req.sampling.topP : 1,
      maxNewTokens: req.sampling.maxNewTokens || 32,
    },
    nodeSampling,
  );
  checkCount('n', req.n, REQUEST_LIMITS.generateSamples);
  const n = Math.max(1, req.n);
  checkCount('prompts × n', n * req.prompts.length, REQUEST_LIMITS.generateRows);
  return { sampling, n };
}

/**
 * Publishes one streamed batch of a Generate answer on the request's `publish_subject`, if it names
 * one: the NATS copy the coordinator checks against the gRPC stream (README "Security").
 */
export async function publishResponseCopy(
  nc: NatsConnection,
  req: GenerateRequest,
  nodeId: string,
  responses: GenerateResponse[],
  seq: number,
): Promise<void> {
  if (!req.publishSubject) return;
  await publishMessage(nc, req.publishSubject, 'tso.v1.ResponseBatch', {
    runId: req.runId,
    iteration: req.iteration,
    nodeId,
    responses,
    seq,
  });
}
