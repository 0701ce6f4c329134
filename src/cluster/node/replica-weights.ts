// Weight storage for a policy replica: snapshots into the run's store, stored versions checked against the model's config, the
// reference refresh from an announced version (layout checked before anything is fetched), and the
// run's AdamW options as they arrive with Restore.
import type { AdamW, AdamWOptions } from '../../model/adamw.js';
import type { GPT } from '../../model/gpt.js';
import { encodeOptimizerState } from '../../model/optimizer-codec.js';
import { decodeWeights, encodeWeights, sha256Hex } from '../../model/weights-codec.js';
import {
  GrpcStatusError,
  status,
  type OptimizerOptions,
  type WeightsAnnounce,
  type WeightStore,
} from '../../transport/index.js';
import type { Logger } from '../../util/log.js';
import { layoutMismatch } from './replica-fence.js';

/** A stored version's values (SHA-256 verified by the store), refused if made for another config. */
export async function loadStored(store: WeightStore, version: string, model: GPT): Promise<Float32Array[]> {
  const { data } = await store.getVersion(version);
  const { header, values } = decodeWeights(data);
  if (JSON.stringify(header.config) !== JSON.stringify(model.config)) {
    throw new GrpcStatusError(
      status.FAILED_PRECONDITION,
      `version ${version} has a different model config than this replica`,
    );
  }
  return values;
}

/**
 * reference ← the announced version: from the policy's own weights when they are the announced bytes,
 * else loaded from the store (policy too). Throws, with nothing changed, on a layout or config that is
 * not this model's.
 */
export async function refreshFromAnnounce(
  a: WeightsAnnounce,
  policy: GPT,
  reference: GPT,
  store: () => Promise<WeightStore>,
  log: Logger,
): Promise<void> {
  const layout = layoutMismatch(a, policy.specs);
  if (layout) throw new Error(layout);
  const own = encodeWeights(policy.config, policy.getWeights(), a.version);
  if (sha256Hex(own) === a.sha256) {
    reference.copyFrom(policy);
    return;
  }
  const values = await loadStored(await store(), a.version, policy);
  log.warn({ version: a.version }, 'own weights differ from the announced version: loading it');
  policy.setWeights(values);
  reference.setWeights(values);
}

/**
 * The run's AdamW options from a Restore (proto defaults = unset); no lr keeps `fallback`. A cosine decay
 * whose floor is not a fraction in [0, 1] is INVALID_ARGUMENT (it would make the rate negative or NaN).
 */
export function adamwFromWire(options: OptimizerOptions | undefined, fallback: AdamWOptions): AdamWOptions {
  if (!options || !(options.lr > 0)) return fallback;
  if (options.decaySteps > 0 && !(options.minLrFraction >= 0 && options.minLrFraction <= 1))
    throw new GrpcStatusError(
      status.INVALID_ARGUMENT,
      `optimizer.min_lr_fraction: expected a number in [0, 1], got ${options.minLrFraction}`,
    );
  return {
    lr: options.lr,
    beta1: options.beta1 || 0.9,
    beta2: options.beta2 || 0.999,
    eps: options.eps || 1e-8,
    weightDecay: options.weightDecay,
    clipNorm: options.clipNorm,
    warmupSteps: options.warmupSteps,
    ...(options.decaySteps > 0
      ? { decaySteps: options.decaySteps, minLrFraction: options.minLrFraction }
      : {}),
  };
}

/** Stores the policy as `version` (with its layout and step) and, if asked, the optimizer state. */
export async function storeSnapshot(
  store: WeightStore,
  policy: GPT,
  opt: AdamW,
  version: string,
  includeOptimizer: boolean,
) {
  const bytes = encodeWeights(policy.config, policy.getWeights(), version);
  // The layout travels with the version, so a replica checks an announcement before fetching it.
  const params = policy.specs.map((p) => ({ name: p.name, shape: p.shape }));
  await store.putVersion(version, bytes, { sha256: sha256Hex(bytes), params, step: opt.step });
  let optimizerObject = '';
  let optimizerSha256 = '';
  let optimizerBytes = 0;
  if (includeOptimizer) {
    const ob = encodeOptimizerState(opt.getState());
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
    optimizerStep: opt.step,
  };
}
