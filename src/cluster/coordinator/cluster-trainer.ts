// The policy replicas' lifecycle in a run: start (everyone loads v0), admit late joiners, train steps
// (distributed-step.ts), reference refresh with acknowledgements, snapshots for checkpoints, resume.
import type { AdamWOptions } from '../../model/adamw.js';
import { sha256Hex } from '../../model/weights-codec.js';
import { distributedStep } from './distributed-step.js';
import type { LossConfig } from '../../tso/dpo-step.js';
import type { RestoreReference, TrainPair, TrainStepResult } from '../../tso/loop/port.js';
import {
  lastToken,
  publishMessage,
  Role,
  subjects,
  SMALL_MESSAGE_BYTES,
  subscribeMessages,
  type Ack,
  type MemberRecord,
  type ReceivedMessage,
  type NatsConnection,
  type TypedClient,
  type WeightStore,
} from '../../transport/index.js';
import type { Logger } from '../../util/log.js';
import { collectResending } from './resend.js';
import type { NodeDirectory } from './node-directory.js';

export interface TrainerOptions {
  runId: string;
  nc: NatsConnection;
  dir: NodeDirectory;
  store: WeightStore;
  log: Logger;
  collectTimeoutMs: number;
  /** Gradient shards per step (run config `grad_shards`). */
  gradShards: number;
  /** The run epoch (the lease's): sent with every Restore, shard request, Update and announcement. */
  epoch: number;
  /** Throws once this coordinator's lease is lost: checked before anything changes a replica. */
  fence: () => void;
}

export class ClusterTrainer {
  /** Replicas holding the run's current weights, by node id. */
  private active: MemberRecord[] = [];
  /** The run's version as of the last load/refresh (what snapshot() reports). */
  private version = 'v0';
  /** Stored version the replicas hold as their reference (v0 for the whole run with a fixed reference). */
  private referenceVersion = 'v0';
  /** The stored policy (+ optimizer object) the replicas held `stepsSinceStored` steps ago. */
  private stored = { version: 'v0', optimizerObject: '' };
  private stepsSinceStored = 0;
  /** SHA-256 of the flat weights every active replica holds (the base of the next Update). */
  private weightsSha256 = '';
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

  /**
   * Replicas holding the run's weights. A lost one leaves for good: if it comes back (heartbeats
   * again, or restarts) it is admitted like a late joiner, with a Restore first (admitNewReplicas).
   */
  activeReplicas(): MemberRecord[] {
    this.active = this.active.filter((m) => !this.t.dir.isLost(m.nodeId));
    return this.active;
  }

  /**
   * Calls `f` on the first active replica that answers. A lost replica (unreachable, silent) is marked
   * lost; one that answers an error is recorded and the next is asked; when every one fails, the last
   * error is thrown.
   */
  protected async onAnyReplica<T>(
    what: string,
    f: (c: TypedClient<'tso.v1.ModelNode'>) => Promise<T>,
  ): Promise<T> {
    const refused = new Set<string>();
    let last: unknown;
    for (;;) {
      const m = this.activeReplicas().find((x) => !refused.has(x.nodeId));
      if (!m) throw last instanceof Error ? last : new Error(`${what}: no live policy replica`);
      try {
        return await f(this.t.dir.modelNode(m));
      } catch (e) {
        last = e;
        if (this.t.dir.callFailed(m.nodeId, what, e) === 'error') refused.add(m.nodeId);
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
    this.t.fence(); // before the first call that touches a replica
    this.active = this.t.dir.byRole(Role.POLICY);
    if (this.active.length === 0) throw new Error('no policy replica');
    const snap = await this.onAnyReplica('Snapshot', (c) =>
      c.snapshot({ runId: this.t.runId, version: 'v0', includeOptimizer: false }),
    );
    await this.restoreAll(snap.version, '', snap.version);
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
          warmupSteps: o.warmupSteps ?? 0,
          decaySteps: o.decaySteps ?? 0,
          minLrFraction: o.minLrFraction ?? 0,
        }
      : undefined;
  }

  private restoreMessage(version: string, optimizerObject: string, referenceVersion: string) {
    return {
      runId: this.t.runId,
      version,
      optimizerObject,
      optimizer: this.optimizerMessage(),
      referenceVersion: referenceVersion === version ? '' : referenceVersion,
      runEpoch: this.t.epoch,
    };
  }

  private async restoreAll(
    version: string,
    optimizerObject: string,
    referenceVersion: string,
  ): Promise<void> {
    this.t.fence();
    const msg = this.restoreMessage(version, optimizerObject, referenceVersion);
    const replicas = this.activeReplicas();
    const sums = await Promise.all(
      replicas.map(async (m) => {
        try {
          return (await this.t.dir.modelNode(m).restore(msg, { deadlineMs: 120_000 })).checksum;
        } catch (e) {
          this.t.dir.callFailed(m.nodeId, `Restore of ${version}`, e);
          return undefined;
        }
      }),
    );
    // A replica that could not load the weights must not train (it holds other weights), lost or not.
    this.active = replicas.filter((_, i) => sums[i] !== undefined);
    const ok = sums.filter((s): s is string => s !== undefined);
    if (ok.length === 0) throw new Error('no policy replica could load the weights');
    if (new Set(ok).size !== 1)
      throw new Error(`replicas disagree after loading ${version}: ${[...new Set(ok)].join(', ')}`);
    this.version = version;
    this.referenceVersion = referenceVersion;
    this.weightsSha256 = ok[0];
    this.stored = { version, optimizerObject };
    this.stepsSinceStored = 0;
    await this.t.store.setLatest(version);
  }

  /** At a mini-batch boundary: replicas that joined since load the current version and optimizer state. */
  protected async admitNewReplicas(): Promise<void> {
    this.activeReplicas(); // drops the lost ones first: one that is back below must Restore
    await this.t.dir.refresh();
    const ids = new Set(this.activeReplicas().map((m) => m.nodeId));
    const fresh = this.t.dir.byRole(Role.POLICY).filter((m) => !ids.has(m.nodeId));
    if (fresh.length > 0 && this.stepsSinceStored > 0) {
      // The policy moved since `version` without a refresh (a fixed reference): store where it is now.
      const snap = await this.onAnyReplica('Snapshot', (c) =>
        c.snapshot({ runId: this.t.runId, version: `join-${this.snapshotName()}`, includeOptimizer: true }),
      );
      this.stored = { version: snap.version, optimizerObject: snap.optimizerObject };
      this.stepsSinceStored = 0;
    }
    for (const m of fresh) {
      try {
        await this.t.dir
          .modelNode(m)
          .restore(
            this.restoreMessage(this.stored.version, this.stored.optimizerObject, this.referenceVersion),
            {
              deadlineMs: 120_000,
            },
          );
        this.active.push(m);
        this.t.dir.event(
          m.nodeId,
          'joined',
          `late replica ${m.nodeId} loaded ${this.stored.version} and joined training`,
        );
      } catch (e) {
        // Not admitted; asked again at the next mini-batch boundary unless it was lost.
        this.t.dir.callFailed(m.nodeId, `Restore of ${this.stored.version} (joining)`, e);
      }
    }
  }

  async trainStep(step: number, pairs: TrainPair[], loss: LossConfig): Promise<TrainStepResult> {
    this.t.fence();
    const r = await distributedStep(
      {
        ...this.t,
        ackTimeoutMs: this.ackTimeoutMs,
        version: this.version,
        baseWeightsSha256: this.weightsSha256,
      },
      this.activeReplicas(),
      step,
      pairs,
      loss,
    );
    if (r.refused) this.refusedSteps++;
    else {
      // Every replica reported the same checksum (distributedStep fails otherwise).
      this.weightsSha256 = Object.values(r.checksums)[0] ?? this.weightsSha256;
      this.steps++;
      this.stepsSinceStored++;
    }
    return r;
  }

  async refreshReference(version: string): Promise<{ version: string; sha256: string; acks: string[] }> {
    const run = this.t.runId;
    this.t.fence();
    const snap = await this.onAnyReplica('Snapshot', (c) =>
      c.snapshot({ runId: run, version, includeOptimizer: true }),
    );
    const announce = await this.t.store.setLatest(version);
    const acks = await subscribeMessages(this.t.nc, subjects.ackAll(run, version), 'tso.v1.Ack', {
      log: this.t.log,
      maxBytes: SMALL_MESSAGE_BYTES,
    });
    try {
      const live = this.activeReplicas();
      const sendAnnounce = () =>
        publishMessage(this.t.nc, subjects.ref(run), 'tso.v1.WeightsAnnounce', {
          ...announce,
          runId: run,
          runEpoch: this.t.epoch,
        });
      await sendAnnounce();
      // An ack counts only on its node's own subject and for this epoch.
      const mine = (x: ReceivedMessage<Ack>, id: string) =>
        x.message.nodeId === id && lastToken(x.subject) === id && x.message.runEpoch === this.t.epoch;
      const got = await collectResending(acks, {
        until: (xs) => live.every((m) => xs.some((x) => mine(x, m.nodeId))),
        timeoutMs: this.ackTimeoutMs,
        // Lost in flight (a NATS restart): announced again; loading the same version twice is a no-op.
        resend: async (xs, attempt) => {
          const silent = live.filter((m) => !xs.some((x) => mine(x, m.nodeId))).map((m) => m.nodeId);
          this.t.dir.event(
            'coordinator',
            'retry',
            `no acknowledgement of reference ${version} from ${silent.join(', ')}; announced again (attempt ${attempt})`,
          );
          await sendAnnounce();
        },
      });
      for (const m of live) {
        const a = got.items.find((x) => mine(x, m.nodeId))?.message;
        if (!a) this.t.dir.markLost(m.nodeId, `no acknowledgement of reference ${version}`);
        else if (!a.ok) {
          // It answered: not lost, but its reference is not the run's, so it stops training until it
          // Restores at the next mini-batch boundary (admitNewReplicas asks it again).
          this.t.dir.event(m.nodeId, 'error', `could not load reference ${version}: ${a.error}`);
          this.active = this.active.filter((x) => x.nodeId !== m.nodeId);
        }
      }
      this.version = version;
      this.referenceVersion = version;
      this.stored = { version, optimizerObject: snap.optimizerObject };
      this.stepsSinceStored = 0;
      return {
        version,
        sha256: snap.sha256,
        acks: live
          .filter((m) => got.items.some((x) => mine(x, m.nodeId) && x.message.ok))
          .map((m) => m.nodeId),
      };
    } finally {
      acks.stop();
    }
  }

  private snapshotName(): string {
    return `s${this.steps}${this.resumed ? '-r' : ''}`;
  }

  async snapshot(): Promise<{ weights: Uint8Array; optimizer: Uint8Array; version: string }> {
    const snap = await this.onAnyReplica('Snapshot', (c) =>
      c.snapshot({ runId: this.t.runId, version: this.snapshotName(), includeOptimizer: true }),
    );
    const weights = (await this.t.store.getVersion(snap.version)).data;
    const optimizer = (await this.t.store.getVersion(snap.optimizerObject)).data;
    return { weights, optimizer, version: this.version };
  }

  /**
   * Resume. With reference 'initial' (a fixed reference) the replicas' reference is the run's v0: the
   * weights replica 0 holds before anything is restored, which is how start() defines v0 (a resumed
   * cluster's replicas are fresh processes that loaded their initial model).
   */
  async restore(
    s: { weights: Uint8Array; optimizer: Uint8Array; version: string },
    opts?: { reference?: RestoreReference },
  ): Promise<void> {
    const tag = sha256Hex(s.weights).slice(0, 16);
    this.t.fence();
    this.resumed = true;
    this.active = this.t.dir.byRole(Role.POLICY);
    let reference = `resume-${tag}`;
    if (opts?.reference === 'initial') {
      const snap = await this.onAnyReplica('Snapshot', (c) =>
        c.snapshot({ runId: this.t.runId, version: 'v0-r', includeOptimizer: false }),
      );
      reference = snap.version;
    }
    await this.t.store.putVersion(`resume-${tag}`, s.weights);
    await this.t.store.putVersion(`resume-opt-${tag}`, s.optimizer);
    await this.restoreAll(`resume-${tag}`, `resume-opt-${tag}`, reference);
  }
}
