// A policy replica's training state: policy, reference copy and AdamW. It computes gradients of the
// shards it is given, applies the averaged updates broadcast over NATS, refreshes its reference when a
// new version is announced, and stores/loads weight versions in the run's JetStream object store.
import type { AdamWOptions } from '../../model/adamw.js';
import { AdamW, DEFAULT_ADAMW, NonFiniteGradientError } from '../../model/adamw.js';
import { weightsChecksum } from '../../model/checkpoint.js';
import type { GPT } from '../../model/gpt.js';
import { decodeOptimizerState, encodeOptimizerState } from '../../model/optimizer-codec.js';
import { decodeWeights, encodeWeights, sha256Hex } from '../../model/weights-codec.js';
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

export class PolicyReplica {
  opt: AdamW;
  weightVersion = 'initial';
  referenceVersion = 'initial';
  private runId: string | undefined;
  private store: WeightStore | undefined;
  /** Refused updates (non-finite or corrupt): logged and counted, weights unchanged. */
  refused = 0;
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

  /** Binds the replica to a run: subscribes to its update and reference subjects (once). */
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
  ): Promise<{ checksum: string; step: number }> {
    const store = await this.storeFor(runId);
    const load = async (v: string) => {
      const { data } = await store.getVersion(v); // verifies SHA-256
      const { header, values } = decodeWeights(data);
      if (JSON.stringify(header.config) !== JSON.stringify(this.policy.config)) {
        throw new GrpcStatusError(
          status.FAILED_PRECONDITION,
          `version ${v} has a different model config than this replica`,
        );
      }
      return values;
    };
    const values = await load(version);
    const refVersion = referenceVersion || version;
    const refValues = refVersion === version ? values : await load(refVersion);
    const optimizerState = optimizerObject
      ? decodeOptimizerState((await store.getVersion(optimizerObject)).data)
      : undefined;
    // Everything verified: now change state.
    this.policy.setWeights(values);
    this.reference.setWeights(refValues);
    const adam: AdamWOptions =
      options && options.lr > 0
        ? {
            lr: options.lr,
            beta1: options.beta1 || 0.9,
            beta2: options.beta2 || 0.999,
            eps: options.eps || 1e-8,
            weightDecay: options.weightDecay,
            clipNorm: options.clipNorm,
            warmupSteps: options.warmupSteps,
          }
        : this.opt.options;
    this.opt.dispose();
    this.opt = new AdamW(this.policy.vars, this.policy.specs, adam);
    if (optimizerState) this.opt.setState(optimizerState);
    this.weightVersion = version;
    this.referenceVersion = refVersion;
    await this.bind(runId);
    this.log.info({ version, optimizerObject, step: this.opt.step }, 'restored');
    return { checksum: weightsChecksum(this.policy), step: this.opt.step };
  }

  async snapshot(runId: string, version: string, includeOptimizer: boolean) {
    const store = await this.storeFor(runId);
    const bytes = encodeWeights(this.policy.config, this.policy.getWeights(), version);
    await store.putVersion(version, bytes, { sha256: sha256Hex(bytes) });
    let optimizerObject = '';
    let optimizerSha256 = '';
    let optimizerBytes = 0;
    if (includeOptimizer) {
      const ob = encodeOptimizerState(this.opt.getState());
      optimizerObject = `opt-${version}`;
      optimizerSha256 = sha256Hex(ob);
      optimizerBytes = ob.byteLength;
      await store.putVersion(optimizerObject, ob, { sha256: optimizerSha256 });
    }
    return {
      version,
      sha256: sha256Hex(bytes),
      bytes: bytes.byteLength,
      optimizerObject,
      optimizerSha256,
      optimizerBytes,
      optimizerStep: this.opt.step,
    };
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
    await this.bind(req.runId);
    const { batch, ref } = shardBatch(req.pairs.map(pairFromWire), this.policy.config.blockSize);
    const r = preferenceGradient(this.policy, batch, ref, loss);
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
    };
  }

  private async onUpdate(u: Update): Promise<void> {
    if (u.runId !== this.runId) return;
    let sha = '';
    try {
      if (sha256Hex(u.grad) !== u.checksum) throw new Error('update checksum mismatch');
      // Fenced: each optimizer step once, in order. A replayed (or reordered) Update is refused, so
      // a copy of an old one published again cannot move the weights.
      // Steps are 0-based; opt.step counts the steps applied.
      if (u.step !== this.opt.step)
        throw new Error(`update for step ${u.step}, but this replica's next step is ${this.opt.step}`);
      const flat = new Float32Array(u.grad.byteLength / 4);
      new Uint8Array(flat.buffer).set(u.grad);
      this.opt.apply(flat); // validates: a non-finite entry is refused before any weight changes
      this.weightVersion = `${this.referenceVersion}+${u.step}`;
      sha = weightsChecksum(this.policy);
    } catch (e) {
      this.refused++;
      const why = e instanceof NonFiniteGradientError ? e.message : (e as Error).message;
      this.log.error({ step: u.step, refused: this.refused }, `update refused: ${why}`);
    }
    await publishMessage(this.nc, subjects.checksum(u.runId, u.step), 'tso.v1.Checksum', {
      runId: u.runId,
      step: u.step,
      replica: this.replica,
      sha256: sha,
      nodeId: this.nodeId,
      weightVersion: this.weightVersion,
    });
  }

  /** reference ← policy: from our own weights when they are the announced bytes, else from the store. */
  private async onAnnounce(a: WeightsAnnounce): Promise<void> {
    if (a.runId !== this.runId) return;
    let ok = true;
    let error = '';
    try {
      const own = encodeWeights(this.policy.config, this.policy.getWeights(), a.version);
      if (sha256Hex(own) === a.sha256) {
        this.reference.copyFrom(this.policy);
      } else {
        const { data } = await (await this.storeFor(a.runId)).getVersion(a.version);
        const { values } = decodeWeights(data);
        this.log.warn({ version: a.version }, 'own weights differ from the announced version: loading it');
        this.policy.setWeights(values);
        this.reference.setWeights(values);
      }
      this.referenceVersion = a.version;
      this.weightVersion = a.version;
    } catch (e) {
      ok = false;
      error = (e as Error).message;
    }
    await publishMessage(this.nc, subjects.ack(a.runId, a.version), 'tso.v1.Ack', {
      nodeId: this.nodeId,
      version: a.version,
      ok,
      error,
    });
  }

  close(): void {
    for (const stop of this.stops) stop();
  }
}
