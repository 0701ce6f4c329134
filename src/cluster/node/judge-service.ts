// The Judge gRPC service: one AI-feedback plug-in (heuristic, model or OpenAI-compatible) behind Compare.
import type { Judge } from '../../judges/types.js';
import {
  defineService,
  GrpcStatusError,
  status,
  Verdict,
  type ServiceRegistration,
} from '../../transport/index.js';

const MAX_TEXT = 64 * 1024;

export function judgeService(judge: Judge): ServiceRegistration {
  return defineService('tso.v1.Judge', {
    compare: async (req) => {
      for (const [k, v] of [
        ['prompt', req.prompt],
        ['response_a', req.responseA],
        ['response_b', req.responseB],
      ] as const) {
        if (v.length > MAX_TEXT)
          throw new GrpcStatusError(status.INVALID_ARGUMENT, `${k}: longer than ${MAX_TEXT} characters`);
      }
      if (req.prompt.length === 0) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'prompt: required');
      const v = await judge.compare(req.prompt, req.responseA, req.responseB);
      return {
        verdict: v.winner === 'a' ? Verdict.A : v.winner === 'b' ? Verdict.B : Verdict.TIE,
        confidence: v.confidence,
        raw: v.raw ?? '',
        unparsable: v.unparsable ?? false,
      };
    },
  });
}
