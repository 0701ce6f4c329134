// TrainingPort over the cluster: generation on every matrix node (responses gathered over NATS),
// reference scoring and data-parallel training on the policy replicas, weight versions in JetStream.
import type { Judge } from '../../judges/types.js';
import { policyTier } from '../../tso/prior.js';
import type {
  GenerateRequest,
  GenerateResult,
  GeneratedResponse,
  MissingWork,
  NodeEvent,
  TrainingPort,
} from '../../tso/loop/port.js';
import { SCORE_CHUNK } from '../../tso/local-port.js';
import { modelSeed } from '../../tso/loop/generate-step.js';
import {
  Role,
  subjects,
  subscribeMessages,
  type GenerateResponse,
  type MemberRecord,
} from '../../transport/index.js';
import { ClusterTrainer, type TrainerOptions } from './cluster-trainer.js';
import { RemoteJudge } from './remote-judge.js';

export interface ClusterPortOptions extends TrainerOptions {
  /** Tiers of every configured generator (the policy's tier is one past the largest). */
  generatorTiers: number[];
  hasJudge: boolean;
  /** Judge node ids allowed to judge, preferred first (cluster config `judge_nodes`). */
  judgeNodes?: readonly string[];
  /** Gradient shards per step (run config `grad_shards`). */
  gradShards: number;
}

export class ClusterPort extends ClusterTrainer implements TrainingPort {
  private readonly remoteJudge: RemoteJudge;

  constructor(private readonly o: ClusterPortOptions) {
    super(o);
    this.remoteJudge = new RemoteJudge(o.dir, 'remote', o.judgeNodes);
  }

  judge(): Judge | undefined {
    return this.o.hasJudge ? this.remoteJudge : undefined;
  }

  drainEvents(): NodeEvent[] {
    return this.o.dir.drainEvents();
  }

  /** Streams one node's Generate call; returns what it produced, or throws if the node failed. */
  private async generateOn(
    m: MemberRecord,
    req: GenerateRequest,
    n: number,
    seed: number,
    iteration: number,
  ): Promise<GenerateResponse[]> {
    const out: GenerateResponse[] = [];
    const stream = this.o.dir.modelNode(m).generate(
      {
        runId: this.o.runId,
        iteration,
        prompts: req.prompts,
        n,
        sampling: { ...req.sampling, seed },
        publishSubject: subjects.responses(this.o.runId, iteration, m.nodeId),
      },
      { deadlineMs: this.o.collectTimeoutMs },
    );
    for await (const r of stream) out.push(r);
    return out;
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    await this.admitNewReplicas();
    const iteration = req.iteration;
    const live = await this.o.dir.refresh();
    const gens = live.filter((m) => m.role === Role.GENERATOR);
    const policies = this.activeReplicas();
    const pTier = policyTier(this.o.generatorTiers);
    const sub = await subscribeMessages(
      this.o.nc,
      subjects.responsesAll(this.o.runId, iteration),
      'tso.v1.ResponseBatch',
      // A batch is at most generate_batch responses of a few hundred tokens: far below this.
      { log: this.o.log, maxBytes: 16 * 1024 * 1024 },
    );
    const missing: MissingWork[] = [];
    const streamed = new Map<
      string,
      { m: MemberRecord; items: GenerateResponse[]; source: 'generator' | 'policy'; tier: number }
    >();
    const runOne = async (
      first: MemberRecord,
      pool: MemberRecord[],
      n: number,
      source: 'generator' | 'policy',
      tier: number,
    ) => {
      if (n === 0) return;
      const candidates = [
        first,
        ...pool.filter((x) => x.nodeId !== first.nodeId && x.modelName === first.modelName),
      ];
      let error = '';
      for (const m of candidates) {
        if (this.o.dir.isLost(m.nodeId)) continue;
        try {
          const items = await this.generateOn(
            m,
            req,
            n,
            modelSeed(m.modelName, req.sampling.seed),
            iteration,
          );
          streamed.set(m.nodeId, { m, items, source, tier });
          if (m !== first)
            this.o.dir.event(
              m.nodeId,
              'rerouted',
              `generation of ${first.nodeId} (${first.modelName}) re-routed to ${m.nodeId}`,
            );
          return;
        } catch (e) {
          // A refusal (e.g. a prompt longer than the model's context) is recorded; the node stays.
          if (this.o.dir.callFailed(m.nodeId, `Generate (mini-batch ${iteration})`, e) === 'error')
            error ||= (e as Error).message;
        }
      }
      missing.push({
        node: first.nodeId,
        model: first.modelName,
        prompts: req.prompts.length,
        reason: error
          ? `refused by every node serving the model: ${error}`
          : 'node lost and no live node serves the same model',
      });
    };
    try {
      // One representative per model: replicas of the same model are fail-over targets, not extra samples.
      const seen = new Set<string>();
      const jobs: Promise<void>[] = [];
      for (const g of gens) {
        if (seen.has(g.modelName)) continue;
        seen.add(g.modelName);
        jobs.push(runOne(g, gens, req.samplesPerNode, 'generator', g.tier));
      }
      if (policies.length > 0) jobs.push(runOne(policies[0], policies, req.policySamples, 'policy', pTier));
      await Promise.all(jobs);
      // The same responses arrive over NATS (the data plane); wait until every streamed one is there.
      const expected = [...streamed.values()].reduce((a, s) => a + s.items.length, 0);
      const got = await sub.collect({
        until: (xs) => xs.reduce((a, x) => a + x.message.responses.length, 0) >= expected,
        timeoutMs: 10_000,
      });
      // The answer is the gRPC stream's (the node answered us over its own authenticated channel);
      // the NATS copy is the data plane's record of it and must match. A batch whose claimed node is
      // not its subject's is somebody else's: ignored.
      const fromNats = new Map<string, GenerateResponse>();
      for (const b of got.items) {
        if (b.subject.slice(b.subject.lastIndexOf('.') + 1) !== b.message.nodeId) continue;
        for (const r of b.message.responses)
          fromNats.set(`${b.message.nodeId}/${r.promptId}/${r.sampleIndex}`, r);
      }
      let mismatched = 0;
      if (got.timedOut)
        this.o.log.warn(
          { expected, received: fromNats.size },
          'not every response arrived over NATS; using the gRPC stream for the rest',
        );
      const responses: GeneratedResponse[] = [];
      for (const { m, items, source, tier } of streamed.values()) {
        for (const it of items) {
          const copy = fromNats.get(`${m.nodeId}/${it.promptId}/${it.sampleIndex}`);
          if (copy && !sameResponse(copy, it)) mismatched++;
          const r = it;
          const s = r.lineage?.sampling ?? { temperature: 0, topK: 0, topP: 1, maxNewTokens: 0, seed: 0 };
          responses.push({
            promptId: r.promptId,
            text: r.text,
            source,
            tier,
            node: m.nodeId,
            model: m.modelName,
            weightVersion: r.lineage?.weightVersion ?? '',
            sampling: {
              temperature: s.temperature,
              topK: s.topK,
              topP: s.topP,
              maxNewTokens: s.maxNewTokens,
              seed: s.seed,
            },
            seed: r.lineage?.seed ?? 0,
          });
        }
      }
      if (mismatched > 0)
        this.o.log.warn(
          { iteration, mismatched },
          'responses on NATS differ from the gRPC answers (forged or corrupted copies); the gRPC answers are used',
        );
      return { responses, missing, generatorTiers: this.o.generatorTiers };
    } finally {
      sub.stop();
    }
  }

  async referenceLogProbs(rows: { prompt: string; response: string }[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < rows.length; i += SCORE_CHUNK) {
      const chunk = rows.slice(i, i + SCORE_CHUNK);
      const res = await this.onAnyReplica('Score', (c) =>
        c.score({
          pairs: chunk.map((r, j) => ({ id: String(i + j), prompt: r.prompt, response: r.response })),
          includeReference: true,
        }),
      );
      out.push(...res.scores.map((s) => s.referenceLogprob));
    }
    return out;
  }
}

/** The NATS copy of a response says what the gRPC answer says. */
function sameResponse(a: GenerateResponse, b: GenerateResponse): boolean {
  return (
    a.text === b.text &&
    a.logprobSum === b.logprobSum &&
    a.tokenIds.length === b.tokenIds.length &&
    a.tokenIds.every((t, i) => t === b.tokenIds[i])
  );
}
