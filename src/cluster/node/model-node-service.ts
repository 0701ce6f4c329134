// The ModelNode gRPC service of one node: Describe, Generate (streamed and published on NATS), Score,
// LoadWeights, and — on policy replicas — ComputeGradients, Snapshot and Restore.
import { answerOptions, generate, generationBatches, type SamplingOverride } from '../../model/generate.js';
import type { GPT } from '../../model/gpt.js';
import { encodePairsForScoring, promptIds, responseText } from '../../model/prompt-format.js';
import { deriveSeed } from '../../model/seeded-normal.js';
import { decodeWeights } from '../../model/weights-codec.js';
import { sequenceLogProbs } from '../../tso/dpo-step.js';
import {
  defineService,
  GrpcStatusError,
  ResponseSource,
  receiveWeights,
  status,
  WeightTarget,
  type GenerateResponse,
  type MessageInput,
  type NatsConnection,
  type NodeInfo,
  type ServiceRegistration,
} from '../../transport/index.js';
import type { PolicyReplica } from './policy-replica.js';
import { publishResponseCopy, resolveGenerate } from './generate-request.js';
import { checkCount, REQUEST_LIMITS, weightBytesLimit } from './request-limits.js';

export interface ModelNodeDeps {
  info: () => MessageInput<'tso.v1.NodeInfo'> & Pick<NodeInfo, 'nodeId' | 'modelName' | 'tier'>;
  /** The model that generates and scores (the policy, for a policy replica). */
  model: GPT;
  /** The reference copy (policy replicas); generators score with their one model. */
  reference?: GPT;
  replica?: PolicyReplica;
  nc: NatsConnection;
  generateBatch: number;
  source: 'generator' | 'policy';
  /** This node's sampling override (generator nodes; see node-config `sampling`). */
  sampling?: SamplingOverride;
  onWeights?: (version: string) => void;
}

function needReplica(d: ModelNodeDeps): PolicyReplica {
  if (!d.replica) throw new GrpcStatusError(status.UNIMPLEMENTED, 'this node is not a policy replica');
  return d.replica;
}

export function modelNodeService(d: ModelNodeDeps): ServiceRegistration {
  return defineService('tso.v1.ModelNode', {
    describe: () => d.info(),

    generate: async function* (req, ctx) {
      const { sampling: s, n } = resolveGenerate(req, d.sampling);
      const info = d.info();
      const block = d.model.config.blockSize;
      const version = String(info.weightVersion ?? '');
      let seq = 0;
      for (const { sample, from, to, rowOffset } of generationBatches(
        req.prompts.length,
        n,
        d.generateBatch,
      )) {
        if (ctx.signal.aborted) return;
        const chunk = req.prompts.slice(from, to);
        const ids = chunk.map((p) => promptIds(p.text));
        const tooLong = ids.findIndex((x) => x.length >= block);
        if (tooLong >= 0)
          throw new GrpcStatusError(
            status.INVALID_ARGUMENT,
            `prompt ${chunk[tooLong].id} does not fit the context of ${block}`,
          );
        const opts = answerOptions(s, s.seed, rowOffset);
        let gens;
        try {
          gens = generate(d.model, ids, opts);
        } catch (e) {
          throw new GrpcStatusError(status.INVALID_ARGUMENT, (e as Error).message);
        }
        const out: MessageInput<'tso.v1.GenerateResponse'>[] = gens.map((g, j) => ({
          promptId: chunk[j].id,
          sampleIndex: sample,
          text: responseText(g.tokens),
          tokenIds: g.tokens,
          logprobSum: g.logProb,
          finishReason: g.finished ? 'eos' : 'length',
          lineage: {
            nodeId: info.nodeId,
            modelName: info.modelName,
            weightVersion: version,
            sampling: s,
            seed: deriveSeed(s.seed, rowOffset + j),
            tier: info.tier,
            source: d.source === 'policy' ? ResponseSource.POLICY : ResponseSource.GENERATOR,
          },
        }));
        await publishResponseCopy(d.nc, req, info.nodeId, out as GenerateResponse[], seq++);
        yield* out;
      }
    },

    score: (req) => {
      checkCount('pairs', req.pairs.length, REQUEST_LIMITS.scoreRows);
      if (req.pairs.length === 0) return { scores: [], policyVersion: String(d.info().weightVersion ?? '') };
      let seqs;
      try {
        seqs = encodePairsForScoring(
          req.pairs.map((p) => ({ prompt: p.prompt, response: p.response })),
          d.model.config.blockSize,
        );
      } catch (e) {
        throw new GrpcStatusError(status.INVALID_ARGUMENT, (e as Error).message);
      }
      const pol = sequenceLogProbs(d.model, seqs);
      const ref = req.includeReference ? sequenceLogProbs(d.reference ?? d.model, seqs) : undefined;
      const tokens = req.pairs.map((_, i) =>
        seqs.mask.subarray(i * seqs.seqLen, (i + 1) * seqs.seqLen).reduce((a, b) => a + b, 0),
      );
      return {
        scores: req.pairs.map((p, i) => ({
          id: p.id,
          policyLogprob: pol[i],
          referenceLogprob: ref ? ref[i] : 0,
          responseTokens: tokens[i],
        })),
        policyVersion: String(d.info().weightVersion ?? ''),
        referenceVersion: d.replica?.referenceVersion ?? '',
      };
    },

    loadWeights: async (chunks) => {
      // Size (at most this model's), SHA-256 verified; a mismatch refuses everything.
      const w = await receiveWeights(chunks, weightBytesLimit(d.model.paramCount));
      const { header, values } = decodeWeights(w.data);
      if (JSON.stringify(header.config) !== JSON.stringify(d.model.config)) {
        throw new GrpcStatusError(
          status.FAILED_PRECONDITION,
          'weights were made for a different model config',
        );
      }
      if (w.target === WeightTarget.POLICY || w.target === WeightTarget.BOTH) d.model.setWeights(values);
      if ((w.target === WeightTarget.REFERENCE || w.target === WeightTarget.BOTH) && d.reference)
        d.reference.setWeights(values);
      if (d.replica) {
        if (w.target !== WeightTarget.REFERENCE) d.replica.weightVersion = w.version;
        if (w.target !== WeightTarget.POLICY) d.replica.referenceVersion = w.version;
      }
      d.onWeights?.(w.version);
      return {
        version: w.version,
        sha256: w.sha256,
        bytesReceived: w.data.byteLength,
        target: w.target,
        policyVersion: String(d.info().weightVersion ?? ''),
        referenceVersion: d.replica?.referenceVersion ?? '',
      };
    },

    computeGradients: (req) => {
      checkCount('pairs', req.pairs.length, REQUEST_LIMITS.gradientPairs);
      return needReplica(d).computeGradients(req);
    },

    snapshot: (req) => needReplica(d).snapshot(req.runId, req.version, req.includeOptimizer),

    restore: async (req) => {
      const r = await needReplica(d).restore(
        req.runId,
        req.version,
        req.optimizerObject,
        req.optimizer,
        req.referenceVersion,
        req.runEpoch,
      );
      d.onWeights?.(req.version);
      return { version: req.version, checksum: r.checksum, optimizerStep: r.step };
    },
  });
}
