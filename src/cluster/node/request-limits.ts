// Bounds on what one RPC may ask of a node. Far above what a TSO run sends (a mini-batch is hundreds
// of rows), far below what would pin the CPU or memory of the node for minutes: a request beyond
// them is refused at once with INVALID_ARGUMENT naming the field, and the node keeps serving.
import { GrpcStatusError, status } from '../../transport/index.js';

export const REQUEST_LIMITS = {
  /** Pairs per Score call. */
  scoreRows: 16_384,
  /** Pairs per ComputeGradients shard. */
  gradientPairs: 16_384,
  /** Samples per prompt (`n`) of one Generate call. */
  generateSamples: 64,
  /** Responses (prompts × n) of one Generate call. */
  generateRows: 65_536,
} as const;

/** Slack over the parameters' float32 bytes for the weights file's JSON header. */
const WEIGHTS_HEADER_SLACK = 1024 * 1024;

/** Largest LoadWeights stream a node of this model accepts: the model's own size. */
export function weightBytesLimit(paramCount: number): number {
  return paramCount * 4 + WEIGHTS_HEADER_SLACK;
}

export function checkCount(field: string, n: number, max: number): void {
  if (n > max)
    throw new GrpcStatusError(status.INVALID_ARGUMENT, `${field}: ${n} exceeds this node's limit of ${max}`);
}
