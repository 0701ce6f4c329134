// A policy replica's training state: policy, reference copy and AdamW. It computes gradients of the
// shards it is given, applies the averaged updates broadcast over NATS, refreshes its reference when a
// new version is announced, and stores/loads weight versions in the run's JetStream object store.
// Restore binds it to a run instance and the coordinator's epoch; what it then accepts from the data
// plane is decided in replica-fence.ts.
import { AdamW, DEFAULT_ADAMW, NonFiniteGradientError } from '../../model/adamw.js';
import { weightsChecksum } from '../../model/checkpoint.js';
import type { GPT } from '../../model/gpt.js';
import { decodeOptimizerState } from '../../model/optimizer-codec.js';
import { sha256Hex } from '../../model/weights-codec.js';
import { preferenceGradient, shardBatch } from '../../tso/dpo-step.js';
import { metricsToWire } from '../../tso/preference-metrics.js';
import {
  buckets,
  GrpcStatusError,
  publishMessage,
  status,
  subjects,
  SMALL_MESSAGE_BYTES,
  subscribeMessages,
  tensorMessageBytes,
  WeightStore,
  type NatsConnection,
} from '../../transport/index.js';
import type { GradientRequest, OptimizerOptions, Update, WeightsAnnounce } from '../../transport/index.js';
import type { Logger } from '../../util/log.js';
import { lossFromWire, pairFromWire } from '../loss-wire.js';
import {
  foreignReason,
  isRepeatOfLast,
  updateRefusal,
  type AppliedUpdate,
  type Binding,
} from './replica-fence.js';
import { adamwFromWire, loadStored, refreshFromAnnounce, storeSnapshot } from './replica-weights.js';

export class PolicyReplica {
  opt: AdamW;
  weightVersion = 'initial';
  referenceVersion = 'initial';
  private runId: string | undefined;
  private binding: Binding | undefined;
  /** The last update applied since the last Restore (its repeat is answered again, not applied). */
  private lastApplied: AppliedUpdate | undefined;
  private store: WeightStore | undefined;
  /** Refused updates (replayed, out of order, wrong base, corrupt, non-finite): logged and counted. */
  refused = 0;
  /** Updates and announcements of another run or epoch: ignored (logged and counted). */
  ignored = 0;
  /** Refused weight announcements (wrong layout or model config, unreadable): old weights kept. */
  refusedAnnouncements = 0;
  private stops: (() => void)[] = [];

  constructor(
    readonly nodeId: string,
    readonly replica: number,
    readonly policy: GPT,
    readonly reference: GPT,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {
    this.opt = new AdamW(policy.vars, policy.specs, DEFAULT_ADAMW);
  }

  private async storeFor(runId: string): Promise<WeightStore> {
    if (this.runId !== runId || !this.store) {
      this.store = await WeightStore.open(this.nc, {
        bucket: buckets.weights(runId),
        stateBucket: buckets.state(runId),
        runId,
      });
    }
    return this.store;
  }

  /**
   * Refuses a Restore of a lower epoch than the bound one of the same run: it comes from a coordinator
   * whose lease has passed to another. Checked before anything changes.
   */
  private checkEpoch(runId: string, epoch: number): void {
    if (this.binding?.runId === runId && epoch < this.binding.epoch)
      throw new GrpcStatusError(
        status.FAILED_PRECONDITION,
        `run ${runId} is at epoch ${this.binding.epoch}: a request of epoch ${epoch} comes from a superseded coordinator`,
      );
  }

  /** Subscribes to the run's update and reference subjects (once per run). */
  private async bind(runId: string): Promise<void> {
    if (this.runId === runId) return;
    for (const stop of this.stops) stop();
    this.stops = [];
    await this.storeFor(runId);
    this.runId = runId;
    // Budgets = the expected sizes: a forged stream cannot make this process hold more than that.
    const updates = await subscribeMessages(this.nc, subjects.updateAll(runId), 'tso.v1.Update', {
      log: this.log,
      maxBytes: tensorMessageBytes(this.policy.paramCount),
    });
    const refs = await subscribeMessages(this.nc, subjects.ref(runId), 'tso.v1.WeightsAnnounce', {
      log: this.log,
      maxBytes: SMALL_MESSAGE_BYTES,
    });
    this.stops.push(
      () => updates.stop(),
      () => refs.stop(),
    );
    void (async () => {
      for await (const m of updates)
        await this.onUpdate(m.message).catch((e: unknown) => this.log.error({ err: e }, 'update failed'));
    })();
    void (async () => {
      for await (const m of refs)
        await this.onAnnounce(m.message).catch((e: unknown) => this.log.error({ err: e }, 'refresh failed'));
    })();
  }

  /**
   * Loads the policy from a stored version and the reference from `referenceVersion` (empty: the
   * same version), plus optimizer state or a fresh optimizer.
   */
  async restore(
    runId: string,
    version: string,
    optimizerObject: string,
    options?: OptimizerOptions,
    referenceVersion = '',
    epoch = 0,
  ): Promise<{ checksum: string; step: number }> {
    this.checkEpoch(runId, epoch);
    const store = await this.storeFor(runId);
    const load = (v: string) => loadStored(store, v, this.policy);
    const values = await load(version);
    const refVersion = referenceVersion || version;
    const refValues = refVersion === version ? values : await load(refVersion);
    const optimizerState = optimizerObject
      ? decodeOptimizerState((await store.getVersion(optimizerObject)).data)
      : undefined;
    const adam = adamwFromWire(options, this.opt.options);
    // Everything verified: now change state.
    this.policy.setWeights(values);
    this.reference.setWeights(refValues);
    this.opt.dispose();
    this.opt = new AdamW(this.policy.vars, this.policy.specs, adam);
    if (optimizerState) this.opt.setState(optimizerState);
    this.weightVersion = version;
    this.referenceVersion = refVersion;
    this.binding = { runId, epoch };
    this.lastApplied = undefined;
    await this.bind(runId);
    this.log.info({ version, optimizerObject, step: this.opt.step, epoch }, 'restored');
    return { checksum: weightsChecksum(this.policy), step: this.opt.step };
  }

  async snapshot(runId: string, version: string, includeOptimizer: boolean) {
    return storeSnapshot(await this.storeFor(runId), this.policy, this.opt, version, includeOptimizer);
  }

  /** Gradient of this shard, published on NATS; the summary goes back over gRPC. */
  async computeGradients(req: GradientRequest) {
    if (req.pairs.length === 0) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'empty shard');
    const loss = lossFromWire(req.loss);
    if (!loss) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'loss kind missing or unknown');
    if (req.expectedWeightVersion && req.expectedWeightVersion !== this.weightVersion) {
      throw new GrpcStatusError(
        status.FAILED_PRECONDITION,
        `replica holds ${this.weightVersion}, request expects ${req.expectedWeightVersion}`,
      );
    }
    // Another run than the bound one would re-subscribe this replica away from its run: Restore first.
    if (this.binding && req.runId !== this.binding.runId)
      throw new GrpcStatusError(
        status.FAILED_PRECONDITION,
        `replica is bound to run ${this.binding.runId}, request is of run ${req.runId}: Restore first`,
      );
    // A shard of another epoch of the bound run: its coordinator no longer (or not yet) drives it.
    if (this.binding?.runId === req.runId && req.runEpoch !== this.binding.epoch)
      throw new GrpcStatusError(
        status.FAILED_PRECONDITION,
        `replica is bound to epoch ${this.binding.epoch} of run ${req.runId}, request is of epoch ${req.runEpoch}`,
      );
    await this.bind(req.runId);
    const t0 = performance.now();
    const { batch, ref } = shardBatch(req.pairs.map(pairFromWire), this.policy.config.blockSize);
    const r = preferenceGradient(this.policy, batch, ref, loss);
    const computeMs = performance.now() - t0;
    const grad = new Uint8Array(r.grad.buffer, r.grad.byteOffset, r.grad.byteLength);
    const checksum = sha256Hex(grad);
    const subject = subjects.grad(req.runId, req.step, req.replica);
    const metrics = metricsToWire(r.metrics);
    await publishMessage(this.nc, subject, 'tso.v1.GradientShard', {
      runId: req.runId,
      step: req.step,
      replica: req.replica,
      pairs: req.pairs.length,
      loss: r.loss,
      grad,
      checksum,
      weightVersion: this.weightVersion,
      nodeId: this.nodeId,
      metrics,
      runEpoch: req.runEpoch,
    });
    return {
      step: req.step,
      replica: req.replica,
      pairs: req.pairs.length,
      loss: r.loss,
      metrics,
      gradSha256: checksum,
      gradBytes: grad.byteLength,
      weightVersion: this.weightVersion,
      subject,
      computeMs,
    };
  }

  private async onUpdate(u: Update): Promise<void> {
    const foreign = foreignReason(u, this.binding);
    if (foreign) {
      this.ignored++;
      this.log.warn({ step: u.step, ignored: this.ignored }, `update ignored: ${foreign}`);
      return;
    }
    let sha = '';
    let error = '';
    try {
      if (isRepeatOfLast(u, this.lastApplied)) {
        sha = this.lastApplied!.weightsSha256;
        this.log.info(
          { step: u.step },
          'update sent again (its answer was lost): answered again, not applied',
        );
      } else sha = this.apply(u);
    } catch (e) {
      this.refused++;
      error = e instanceof NonFiniteGradientError ? e.message : (e as Error).message;
      this.log.error({ step: u.step, refused: this.refused }, `update refused: ${error}`);
    }
    // Answered (an empty sha256 = refused, with the reason) so the coordinator fails fast; it takes
    // only the answer to its own update (update_sha256), so answering a forged one costs it nothing.
    await publishMessage(this.nc, subjects.checksum(u.runId, u.step, this.nodeId), 'tso.v1.Checksum', {
      runId: u.runId,
      step: u.step,
      replica: this.replica,
      sha256: sha,
      nodeId: this.nodeId,
      weightVersion: this.weightVersion,
      runEpoch: u.runEpoch,
      updateSha256: u.checksum,
      error,
    });
  }

  /** Applies an Update the fence admits; returns the SHA-256 of the new weights. */
  private apply(u: Update): string {
    const why = updateRefusal(
      u,
      {
        nextStep: this.opt.step, // opt.step counts the steps applied; steps are 0-based
        paramCount: this.policy.paramCount,
        weightsSha256: () => weightsChecksum(this.policy),
      },
      sha256Hex,
    );
    if (why) throw new Error(why);
    const flat = new Float32Array(u.grad.byteLength / 4);
    new Uint8Array(flat.buffer).set(u.grad);
    this.opt.apply(flat); // validates: a non-finite entry is refused before any weight changes
    this.weightVersion = `${this.referenceVersion}+${u.step}`;
    const sha = weightsChecksum(this.policy);
    this.lastApplied = { step: u.step, updateSha256: u.checksum, weightsSha256: sha };
    return sha;
  }

  /**
   * reference ← policy: from our own weights when they are the announced bytes, else from the store.
   * Only the bound epoch's announcements (the coordinator's), and only a layout and model config equal
   * to this model's, are loaded.
   */
  private async onAnnounce(a: WeightsAnnounce): Promise<void> {
    const foreign = foreignReason(a, this.binding);
    if (foreign) {
      this.ignored++;
      this.log.warn({ version: a.version, ignored: this.ignored }, `announcement ignored: ${foreign}`);
      return;
    }
    let ok = true;
    let error = '';
    try {
      await refreshFromAnnounce(a, this.policy, this.reference, () => this.storeFor(a.runId), this.log);
      this.referenceVersion = a.version;
      this.weightVersion = a.version;
    } catch (e) {
      ok = false;
      error = (e as Error).message;
      this.refusedAnnouncements++;
      this.log.error(
        { version: a.version, refused: this.refusedAnnouncements },
        `announcement refused, weights kept: ${error}`,
      );
    }
    await publishMessage(this.nc, subjects.ack(a.runId, a.version, this.nodeId), 'tso.v1.Ack', {
      nodeId: this.nodeId,
      version: a.version,
      ok,
      error,
      runId: a.runId,
      runEpoch: a.runEpoch,
    });
  }

  close(): void {
    for (const stop of this.stops) stop();
  }
}
