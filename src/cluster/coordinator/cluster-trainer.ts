// Data-parallel training over the policy replicas: shards out, gradient shards back over NATS (chunked),
// averaged in a fixed shard order, the update broadcast, and every replica's weight checksum compared.
import { averageGradients } from '../../model/gradients.js';
import type { AdamWOptions } from '../../model/adamw.js';
import { sha256Hex } from '../../model/weights-codec.js';
import { shardRanges } from '../../bench/workload.js';
import type { LossConfig } from '../../tso/dpo-step.js';
import type { TrainPair, TrainStepResult } from '../../tso/loop/port.js';
import {
  LossKind,
  publishMessage,
  Role,
  subjects,
  subscribeMessages,
  type MemberRecord,
  type NatsConnection,
  type TypedClient,
  type WeightStore,
} from '../../transport/index.js';
import type { Logger } from '../../util/log.js';
import type { NodeDirectory } from './node-directory.js';

const LOSS_KIND = { 'dual-clip': LossKind.DUAL_CLIP, dpo: LossKind.DPO, ipo: LossKind.IPO } as const;

export interface TrainerOptions {
  runId: string;
  nc: NatsConnection;
  dir: NodeDirectory;
  store: WeightStore;
  log: Logger;
  collectTimeoutMs: number;
}

export class StepRefusedError extends Error {
  override name = 'StepRefusedError';
}

export class ClusterTrainer {
  /** Replicas holding the run's current weights, by node id. */
  private active: MemberRecord[] = [];
  private version = 'v0';
  private optimizerObject = '';
  private optimizerOptions: AdamWOptions | undefined;
  private steps = 0;
  /** Snapshot names after a resume get a suffix: they restart from step 0 in a fresh store namespace. */
  private resumed = false;
  /** Steps whose gradient was refused (non-finite); no weights changed. */
  refusedSteps = 0;
  /** Checksums and acknowledgements are quick to send: a replica silent this long is taken as lost. */
  private get ackTimeoutMs(): number {
    return Math.min(this.t.collectTimeoutMs, 30_000);
  }

  constructor(private readonly t: TrainerOptions) {}

  activeReplicas(): MemberRecord[] {
    return this.active.filter((m) => !this.t.dir.isLost(m.nodeId));
  }

  /** Calls `f` on the first active replica that answers; a failed replica is marked lost. */
  protected async onAnyReplica<T>(
    what: string,
    f: (c: TypedClient<'tso.v1.ModelNode'>) => Promise<T>,
  ): Promise<T> {
    for (;;) {
      const m = this.activeReplicas()[0];
      if (!m) throw new Error(`${what}: no live policy replica`);
      try {
        return await f(this.t.dir.modelNode(m));
      } catch (e) {
        this.t.dir.markLost(m.nodeId, `${what} failed: ${(e as Error).message}`);
      }
    }
  }

  /** Starts the run: replica 0's weights become v0 and every replica loads them with a fresh optimizer. */
  /** The run's AdamW options, sent with every Restore (optimizer state files hold moments, not options). */
  configure(optimizer: AdamWOptions): void {
    this.optimizerOptions = optimizer;
  }

  async start(optimizer: AdamWOptions): Promise<void> {
    this.configure(optimizer);
    this.active = this.t.dir.byRole(Role.POLICY);
    if (this.active.length === 0) throw new Error('no policy replica');
    const snap = await this.onAnyReplica('Snapshot', (c) =>
      c.snapshot({ runId: this.t.runId, version: 'v0', includeOptimizer: false }),
    );
    await this.restoreAll(snap.version, '');
  }

  /** The run's optimizer settings as sent with Restore (a replica's own defaults must not apply). */
  private optimizerMessage() {
    const o = this.optimizerOptions;
    return o
      ? {
          lr: o.lr,
          beta1: o.beta1,
          beta2: o.beta2,
          eps: o.eps,
          weightDecay: o.weightDecay,
          clipNorm: o.clipNorm,
        }
      : undefined;
  }

  private async restoreAll(version: string, optimizerObject: string): Promise<void> {
    const optimizer = this.optimizerMessage();
    const sums = await Promise.all(
      this.activeReplicas().map(async (m) => {
        try {
          return (
            await this.t.dir
              .modelNode(m)
              .restore({ runId: this.t.runId, version, optimizerObject, optimizer }, { deadlineMs: 120_000 })
          ).checksum;
        } catch (e) {
          this.t.dir.markLost(m.nodeId, `Restore failed: ${(e as Error).message}`);
          return undefined;
        }
      }),
    );
    const ok = sums.filter((s): s is string => s !== undefined);
    if (ok.length === 0) throw new Error('no policy replica could load the weights');
    if (new Set(ok).size !== 1)
      throw new Error(`replicas disagree after loading ${version}: ${[...new Set(ok)].join(', ')}`);
    this.version = version;
    this.optimizerObject = optimizerObject;
    await this.t.store.setLatest(version);
  }

  /** At a mini-batch boundary: replicas that joined since load the current version and optimizer state. */
  protected async admitNewReplicas(): Promise<void> {
    await this.t.dir.refresh();
    const ids = new Set(this.activeReplicas().map((m) => m.nodeId));
    const fresh = this.t.dir.byRole(Role.POLICY).filter((m) => !ids.has(m.nodeId));
    for (const m of fresh) {
      try {
        await this.t.dir.modelNode(m).restore(
          {
            runId: this.t.runId,
            version: this.version,
            optimizerObject: this.optimizerObject,
            optimizer: this.optimizerMessage(),
          },
          { deadlineMs: 120_000 },
        );
        this.active.push(m);
        this.t.dir.event(
          m.nodeId,
          'joined',
          `late replica ${m.nodeId} loaded ${this.version} and joined training`,
        );
      } catch (e) {
        this.t.dir.markLost(m.nodeId, `could not load ${this.version}: ${(e as Error).message}`);
      }
    }
  }

  async trainStep(step: number, pairs: TrainPair[], loss: LossConfig): Promise<TrainStepResult> {
    const run = this.t.runId;
    const grads = await subscribeMessages(this.t.nc, subjects.gradAll(run, step), 'tso.v1.GradientShard', {
      log: this.t.log,
    });
    const sums = await subscribeMessages(this.t.nc, subjects.checksum(run, step), 'tso.v1.Checksum', {
      log: this.t.log,
    });
    try {
      const replicas = this.activeReplicas();
      if (replicas.length === 0) throw new Error('no live policy replica');
      const ranges = shardRanges(pairs.length, replicas.length);
      const reassigned: string[] = [];
      const lossMsg = {
        kind: LOSS_KIND[loss.name],
        beta: loss.beta,
        clipChosen: finite(loss.clipChosen),
        clipRejected: finite(loss.clipRejected),
      };
      const summaries = await Promise.all(
        ranges.map(async ([a, b], shard) => {
          const req = {
            runId: run,
            step,
            replica: shard,
            loss: lossMsg,
            totalPairs: pairs.length,
            pairs: pairs.slice(a, b).map((p, i) => ({
              id: String(a + i),
              prompt: p.prompt,
              chosen: p.chosen,
              rejected: p.rejected,
              weight: p.weight,
              refChosenLogprob: p.refChosen,
              refRejectedLogprob: p.refRejected,
            })),
          };
          // The shard's own replica first; if it fails, the others in order (its shard is re-assigned).
          const order = [replicas[shard], ...replicas.filter((_, i) => i !== shard)];
          for (const m of order) {
            if (this.t.dir.isLost(m.nodeId)) continue;
            try {
              const s = await this.t.dir
                .modelNode(m)
                .computeGradients(req, { deadlineMs: this.t.collectTimeoutMs });
              if (m !== replicas[shard]) reassigned.push(replicas[shard].nodeId);
              return s;
            } catch (e) {
              this.t.dir.markLost(
                m.nodeId,
                `ComputeGradients (step ${step}) failed: ${(e as Error).message}`,
              );
            }
          }
          throw new Error(`step ${step}: no live replica could compute shard ${shard}`);
        }),
      );
      const got = await grads.collect({
        until: (xs) => ranges.every((_, s) => xs.some((x) => x.message.replica === s)),
        timeoutMs: this.t.collectTimeoutMs,
      });
      if (got.timedOut)
        throw new Error(`step ${step}: gradient shards missing after ${this.t.collectTimeoutMs} ms`);
      const shards = ranges.map((_, s) => {
        const msg = got.items.find(
          (x) => x.message.replica === s && x.message.checksum === summaries[s].gradSha256,
        )?.message;
        if (!msg || sha256Hex(msg.grad) !== msg.checksum)
          throw new Error(`step ${step}: shard ${s} missing or corrupt`);
        const g = new Float32Array(msg.grad.byteLength / 4);
        new Uint8Array(g.buffer).set(msg.grad);
        return g;
      });
      const bad = shards.findIndex((g) => g.some((x) => !Number.isFinite(x)));
      if (bad >= 0) {
        this.refusedSteps++;
        this.t.dir.event(
          summaries[bad].subject,
          'refused',
          `step ${step}: gradient of shard ${bad} is not finite; step refused, no weights changed (${this.refusedSteps} so far)`,
        );
        throw new StepRefusedError(`step ${step}: non-finite gradient refused`);
      }
      const avg = averageGradients(
        shards,
        ranges.map(([a, b]) => b - a),
      );
      const bytes = new Uint8Array(avg.buffer);
      const live = this.activeReplicas();
      await publishMessage(this.t.nc, subjects.update(run, step), 'tso.v1.Update', {
        runId: run,
        step,
        grad: bytes,
        contributors: ranges.map((_, s) => s),
        checksum: sha256Hex(bytes),
        baseWeightVersion: this.version,
      });
      const cs = await sums.collect({
        until: (xs) =>
          live.every((m) => this.t.dir.isLost(m.nodeId) || xs.some((x) => x.message.nodeId === m.nodeId)),
        timeoutMs: this.ackTimeoutMs,
      });
      const checksums: Record<string, string> = {};
      for (const m of live) {
        const c = cs.items.find((x) => x.message.nodeId === m.nodeId)?.message;
        if (!c) this.t.dir.markLost(m.nodeId, `no weight checksum for step ${step}`);
        else checksums[m.nodeId] = c.sha256;
      }
      const distinct = new Set(Object.values(checksums));
      if (distinct.size !== 1 || distinct.has('')) {
        const ref = Object.values(checksums)[0];
        const odd = Object.entries(checksums)
          .filter(([, v]) => v !== ref || v === '')
          .map(([k]) => k);
        throw new Error(
          `step ${step}: replica weights diverged or an update was refused: ${odd.join(', ')} (checksums ${JSON.stringify(checksums)})`,
        );
      }
      this.steps++;
      const n = pairs.length;
      const wmean = (k: string) =>
        summaries.reduce((acc, s, i) => acc + (s.metrics[k] ?? 0) * (ranges[i][1] - ranges[i][0]), 0) / n;
      return {
        loss: summaries.reduce((acc, s, i) => acc + s.loss * (ranges[i][1] - ranges[i][0]), 0) / n,
        metrics: {
          rewardAccuracy: wmean('reward_accuracy'),
          margin: wmean('margin'),
          chosenReward: wmean('chosen_reward'),
          rejectedReward: wmean('rejected_reward'),
          fractionClipped: wmean('clip_fraction'),
          fractionChosenClipped: 0,
          fractionRejectedClipped: 0,
          pairs: n,
        },
        checksums,
        reassigned,
      };
    } finally {
      grads.stop();
      sums.stop();
    }
  }

  async refreshReference(version: string): Promise<{ version: string; sha256: string; acks: string[] }> {
    const run = this.t.runId;
    const snap = await this.onAnyReplica('Snapshot', (c) =>
      c.snapshot({ runId: run, version, includeOptimizer: true }),
    );
    const announce = await this.t.store.setLatest(version);
    const acks = await subscribeMessages(this.t.nc, subjects.ack(run, version), 'tso.v1.Ack', {
      log: this.t.log,
    });
    try {
      const live = this.activeReplicas();
      await publishMessage(this.t.nc, subjects.ref(run), 'tso.v1.WeightsAnnounce', {
        ...announce,
        runId: run,
      });
      const got = await acks.collect({
        until: (xs) => live.every((m) => xs.some((x) => x.message.nodeId === m.nodeId)),
        timeoutMs: this.ackTimeoutMs,
      });
      for (const m of live) {
        const a = got.items.find((x) => x.message.nodeId === m.nodeId)?.message;
        if (!a) this.t.dir.markLost(m.nodeId, `no acknowledgement of reference ${version}`);
        else if (!a.ok) this.t.dir.markLost(m.nodeId, `could not load reference ${version}: ${a.error}`);
      }
      this.version = version;
      this.optimizerObject = snap.optimizerObject;
      return {
        version,
        sha256: snap.sha256,
        acks: got.items.filter((x) => x.message.ok).map((x) => x.message.nodeId),
      };
    } finally {
      acks.stop();
    }
  }

  async snapshot(): Promise<{ weights: Uint8Array; optimizer: Uint8Array; version: string }> {
    const name = `s${this.steps}${this.resumed ? '-r' : ''}`;
    const snap = await this.onAnyReplica('Snapshot', (c) =>
      c.snapshot({ runId: this.t.runId, version: name, includeOptimizer: true }),
    );
    const weights = (await this.t.store.getVersion(snap.version)).data;
    const optimizer = (await this.t.store.getVersion(snap.optimizerObject)).data;
    return { weights, optimizer, version: this.version };
  }

  async restore(s: { weights: Uint8Array; optimizer: Uint8Array; version: string }): Promise<void> {
    const tag = sha256Hex(s.weights).slice(0, 16);
    this.resumed = true;
    await this.t.store.putVersion(`resume-${tag}`, s.weights);
    await this.t.store.putVersion(`resume-opt-${tag}`, s.optimizer);
    this.active = this.t.dir.byRole(Role.POLICY);
    await this.restoreAll(`resume-${tag}`, `resume-opt-${tag}`);
  }
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}
