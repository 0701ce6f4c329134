// One data-parallel optimizer step across the policy replicas (see README "One training step across
// replicas"): shards out over gRPC, gradient shards back over NATS, a fixed-order weighted average out
// over NATS, and every replica's weight checksum compared.
import { firstNonFinite } from '../../model/gradients.js';
import { sha256Hex } from '../../model/weights-codec.js';
import type { LossConfig } from '../../tso/dpo-step.js';
import type { TrainPair, TrainStepResult } from '../../tso/loop/port.js';
import {
  assignShards,
  averageShardGradients,
  combineShards,
  shardRanges,
  type ShardRange,
} from '../../tso/grad-shards.js';
import { metricsFromWire } from '../../tso/preference-metrics.js';
import {
  publishMessage,
  subjects,
  SMALL_MESSAGE_BYTES,
  subscribeMessages,
  lastToken,
  type Checksum,
  type GradientShard,
  type GradientSummary,
  type ReceivedMessage,
  type MemberRecord,
  type NatsConnection,
} from '../../transport/index.js';
import type { Logger } from '../../util/log.js';
import { lossToWire, pairToWire } from '../loss-wire.js';
import type { NodeDirectory } from './node-directory.js';
import { collectResending } from './resend.js';

export interface StepContext {
  runId: string;
  nc: NatsConnection;
  dir: NodeDirectory;
  log: Logger;
  collectTimeoutMs: number;
  ackTimeoutMs: number;
  /** Weight version the update applies to (recorded in the Update). */
  version: string;
  /** Gradient shards per step (run config `grad_shards`), whatever the number of live replicas. */
  gradShards: number;
  /** The run epoch (every request, update and accepted answer carries it). */
  epoch: number;
  /** SHA-256 of the flat weights the replicas hold: the Update applies only to these. */
  baseWeightsSha256: string;
}

/**
 * Computes every shard's gradient on the live replicas: round-robin (grad-shards.ts), one call at a
 * time per replica, so a replica with several shards gets a full deadline for each. A shard whose
 * replica is lost, or answers an error, goes to another live replica in the next round; any replica
 * gives the same bits. A shard every live replica refuses stops the step with their answers.
 */
async function computeShards(
  ctx: StepContext,
  replicas: MemberRecord[],
  step: number,
  pairs: TrainPair[],
  loss: LossConfig,
  ranges: ShardRange[],
  reassigned: string[],
  computeMsByNode: Map<string, number>,
  only?: number[],
): Promise<GradientSummary[]> {
  const lossMsg = lossToWire(loss);
  const request = (s: number) => ({
    runId: ctx.runId,
    step,
    replica: s, // the shard index: it names the NATS subject the gradient goes to
    loss: lossMsg,
    totalPairs: pairs.length,
    runEpoch: ctx.epoch,
    pairs: pairs.slice(ranges[s][0], ranges[s][1]).map((p, i) => pairToWire(p, String(ranges[s][0] + i))),
  });
  const out: (GradientSummary | undefined)[] = ranges.map(() => undefined);
  const refusedBy = ranges.map(() => new Map<string, string>());
  let pending = only ?? ranges.map((_, s) => s);
  while (pending.length > 0) {
    const live = replicas.filter((m) => !ctx.dir.isLost(m.nodeId));
    const order = assignShards(pending.length, live.length);
    const plan = new Map<MemberRecord, number[]>();
    pending.forEach((s, i) => {
      const m = [live[order[i]], ...live].find((x) => !refusedBy[s].has(x.nodeId));
      if (!m)
        throw new Error(
          `step ${step}: every live replica refused shard ${s}: ${[...refusedBy[s].values()].join('; ')}`,
        );
      plan.set(m, [...(plan.get(m) ?? []), s]);
    });
    const failed: number[] = [];
    await Promise.all(
      [...plan].map(async ([m, shards]) => {
        for (const s of shards) {
          try {
            if (ctx.dir.isLost(m.nodeId)) throw new Error(`${m.nodeId} was lost`);
            const sum = await ctx.dir.modelNode(m).computeGradients(request(s), {
              deadlineMs: ctx.collectTimeoutMs,
            });
            out[s] = sum;
            computeMsByNode.set(m.nodeId, (computeMsByNode.get(m.nodeId) ?? 0) + sum.computeMs);
            continue;
          } catch (e) {
            if (!ctx.dir.isLost(m.nodeId)) {
              const what = `ComputeGradients (step ${step}, shard ${s})`;
              if (ctx.dir.callFailed(m.nodeId, what, e) === 'error')
                refusedBy[s].set(m.nodeId, `${m.nodeId}: ${(e as Error).message}`);
            }
          }
          if (!reassigned.includes(m.nodeId)) reassigned.push(m.nodeId);
          failed.push(s);
        }
      }),
    );
    pending = failed.sort((a, b) => a - b);
  }
  // With `only`, the other entries stay undefined: the caller keeps its summaries of those shards.
  return out as GradientSummary[];
}

/** The step's result from the shard summaries: pair-weighted means of loss and metrics. */
function summarize(
  summaries: GradientSummary[],
  ranges: ShardRange[],
  checksums: Record<string, string>,
  reassigned: string[],
): TrainStepResult {
  const shards = summaries.map((s, i) => ({
    loss: s.loss,
    metrics: metricsFromWire(s.metrics, ranges[i][1] - ranges[i][0]),
  }));
  return { ...combineShards(shards, ranges), checksums, reassigned };
}

export async function distributedStep(
  ctx: StepContext,
  replicas: MemberRecord[],
  step: number,
  pairs: TrainPair[],
  loss: LossConfig,
): Promise<TrainStepResult> {
  if (replicas.length === 0) throw new Error('no live policy replica');
  const run = ctx.runId;
  // Subscribe before anything is published: core NATS keeps nothing for late subscribers.
  const grads = await subscribeMessages(ctx.nc, subjects.gradAll(run, step), 'tso.v1.GradientShard', {
    log: ctx.log,
  });
  const sums = await subscribeMessages(ctx.nc, subjects.checksumAll(run, step), 'tso.v1.Checksum', {
    log: ctx.log,
    maxBytes: SMALL_MESSAGE_BYTES,
  });
  try {
    const t0 = performance.now();
    const ranges = shardRanges(pairs.length, ctx.gradShards);
    const reassigned: string[] = [];
    const computeMsByNode = new Map<string, number>();
    const compute = (only?: number[]) =>
      computeShards(ctx, replicas, step, pairs, loss, ranges, reassigned, computeMsByNode, only);
    const summaries = await compute();
    // A shard counts only if it is of this epoch and is the bytes its replica's gRPC answer names.
    const shardOf = (x: ReceivedMessage<GradientShard>, s: number) =>
      x.message.replica === s &&
      x.message.runEpoch === ctx.epoch &&
      x.message.checksum === summaries[s].gradSha256;
    const got = await collectResending(grads, {
      until: (xs) => ranges.every((_, s) => xs.some((x) => shardOf(x, s))),
      timeoutMs: ctx.collectTimeoutMs,
      // Lost in flight: computed again (the same bits) and published again.
      resend: async (xs, attempt) => {
        const missing = ranges.map((_, s) => s).filter((s) => !xs.some((x) => shardOf(x, s)));
        ctx.dir.event(
          'coordinator',
          'retry',
          `step ${step}: gradient shard(s) ${missing.join(', ')} did not arrive; computing them again (attempt ${attempt})`,
        );
        const again = await compute(missing);
        for (const s of missing) summaries[s] = again[s];
      },
    });
    if (got.timedOut)
      throw new Error(`step ${step}: gradient shards missing after ${ctx.collectTimeoutMs} ms`);
    const shards = ranges.map((_, s) => {
      const msg = got.items.find((x) => shardOf(x, s))?.message;
      if (!msg || sha256Hex(msg.grad) !== msg.checksum)
        throw new Error(`step ${step}: shard ${s} missing or corrupt`);
      const g = new Float32Array(msg.grad.byteLength / 4);
      new Uint8Array(g.buffer).set(msg.grad);
      return g;
    });
    const bad = shards.findIndex((g) => firstNonFinite(g) >= 0);
    if (bad >= 0) {
      // Refused: no update is published, so no replica changes its weights.
      const why = `step ${step}: gradient of shard ${bad} (${summaries[bad].subject}) is not finite; step refused, no weights changed`;
      ctx.dir.event(`shard-${bad}`, 'refused', why);
      return { ...summarize(summaries, ranges, {}, reassigned), refused: why };
    }
    const avg = averageShardGradients(shards, ranges);
    const bytes = new Uint8Array(avg.buffer);
    const live = replicas.filter((m) => !ctx.dir.isLost(m.nodeId));
    const updateSha256 = sha256Hex(bytes);
    const sendUpdate = () =>
      publishMessage(ctx.nc, subjects.update(run, step), 'tso.v1.Update', {
        runId: run,
        step,
        grad: bytes,
        contributors: ranges.map((_, s) => s),
        checksum: updateSha256,
        baseWeightVersion: ctx.version,
        runEpoch: ctx.epoch,
        baseWeightsSha256: ctx.baseWeightsSha256,
      });
    await sendUpdate();
    // A replica speaks only on its own subject (the server's permissions see to that), of this epoch,
    // about this update: anything else on the step's subjects is not an answer to it.
    const answer = (x: ReceivedMessage<Checksum>, id: string) =>
      x.message.nodeId === id &&
      lastToken(x.subject) === id &&
      x.message.runEpoch === ctx.epoch &&
      x.message.updateSha256 === updateSha256;
    const cs = await collectResending(sums, {
      until: (xs) => live.every((m) => ctx.dir.isLost(m.nodeId) || xs.some((x) => answer(x, m.nodeId))),
      timeoutMs: ctx.ackTimeoutMs,
      // A replica that already applied it answers again without applying it twice (replica-fence.ts).
      resend: async (xs, attempt) => {
        const silent = live.filter((m) => !ctx.dir.isLost(m.nodeId) && !xs.some((x) => answer(x, m.nodeId)));
        ctx.dir.event(
          'coordinator',
          'retry',
          `step ${step}: no weight checksum from ${silent.map((m) => m.nodeId).join(', ')}; update sent again (attempt ${attempt})`,
        );
        await sendUpdate();
      },
    });
    const checksums: Record<string, string> = {};
    const refusals: string[] = [];
    for (const m of live) {
      const c = cs.items.find((x) => answer(x, m.nodeId))?.message;
      if (!c) ctx.dir.markLost(m.nodeId, `no weight checksum for step ${step}`);
      else checksums[m.nodeId] = c.sha256;
      if (c?.error) refusals.push(`${m.nodeId}: ${c.error}`);
    }
    const values = Object.values(checksums);
    if (new Set(values).size !== 1 || values.includes('')) {
      const odd = Object.entries(checksums)
        .filter(([, v]) => v !== values[0] || v === '')
        .map(([k]) => k);
      const why = refusals.length > 0 ? `; refused by ${refusals.join('; ')}` : '';
      throw new Error(
        `step ${step}: replica weights diverged or an update was refused: ${odd.join(', ')} (checksums ${JSON.stringify(checksums)})${why}`,
      );
    }
    // The step's wall time against its slowest replica's computing: the rest is coordination (shard
    // requests, gradient exchange, averaging, the update, AdamW and the checksums).
    const timing = { stepMs: performance.now() - t0, computeMs: Math.max(0, ...computeMsByNode.values()) };
    return { ...summarize(summaries, ranges, checksums, reassigned), timing };
  } finally {
    grads.stop();
    sums.stop();
  }
}
