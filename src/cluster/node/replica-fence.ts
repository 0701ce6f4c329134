// What a policy replica accepts from the data plane (README "Security"): only messages of the run and
// epoch its last Restore bound it to, and an Update only for its next step, on the weights it holds.
// The checks are pure functions of the message and the replica's state, so each refusal has one
// reason that is logged as one line.
import type { ParamSpec, Update, WeightsAnnounce } from '../../transport/index.js';

/** The run instance and epoch a Restore bound the replica to. */
export interface Binding {
  runId: string;
  epoch: number;
}

/**
 * Why a message of another run or epoch is not for this replica (undefined: it is). Such messages are
 * ignored without an answer: another run's (or a superseded coordinator's) traffic is not ours to ack.
 */
export function foreignReason(
  m: { runId: string; runEpoch: number },
  b: Binding | undefined,
): string | undefined {
  if (!b) return `not bound to a run yet (message of run ${m.runId} epoch ${m.runEpoch})`;
  if (m.runId !== b.runId) return `run ${m.runId}, but this replica is bound to run ${b.runId}`;
  if (m.runEpoch !== b.epoch)
    return `run epoch ${m.runEpoch}, but this replica is bound to epoch ${b.epoch} of run ${b.runId}`;
  return undefined;
}

export interface ReplicaState {
  /** The step the replica applies next (= steps applied so far; steps are 0-based). */
  nextStep: number;
  paramCount: number;
  /** Hex SHA-256 of the flat float32 policy weights now (computed only when needed). */
  weightsSha256: () => string;
}

/** The update a replica applied last, and the weights it then held. */
export interface AppliedUpdate {
  step: number;
  updateSha256: string;
  weightsSha256: string;
}

/**
 * The coordinator sends an Update again when a replica's answer did not reach it (a NATS restart drops
 * what is in flight). The same update of the same step — same bytes, so same SHA-256 — as the last one
 * applied is answered again with the weights it produced, and not applied twice; any other step is
 * still refused by updateRefusal.
 */
export function isRepeatOfLast(u: Update, last: AppliedUpdate | undefined): boolean {
  return last !== undefined && u.step === last.step && u.checksum === last.updateSha256;
}

/**
 * Why an Update of the bound epoch is refused, or undefined if it may be applied. Order matters for the
 * message only: a replay names its step, a forged base names the weights.
 */
export function updateRefusal(
  u: Update,
  s: ReplicaState,
  sha256Hex: (b: Uint8Array) => string,
): string | undefined {
  // Each optimizer step once and in order: a replayed (even under a new stream id) or reordered Update
  // cannot move the weights (the last one's repeat is answered, not applied: isRepeatOfLast).
  if (u.step !== s.nextStep)
    return `update for step ${u.step}, but this replica's next step is ${s.nextStep}`;
  if (u.grad.byteLength !== s.paramCount * 4)
    return `update of ${u.grad.byteLength} bytes, but the model has ${s.paramCount} float32 parameters`;
  if (sha256Hex(u.grad) !== u.checksum) return 'update checksum mismatch';
  const base = s.weightsSha256();
  if (u.baseWeightsSha256 !== base)
    return `update applies to weights ${u.baseWeightsSha256.slice(0, 12) || '(none)'}, this replica holds ${base.slice(0, 12)}`;
  return undefined;
}

/** Why an announced weight layout is not this model's (undefined: names and shapes all equal). */
export function layoutMismatch(a: WeightsAnnounce, specs: readonly ParamSpec[]): string | undefined {
  const p = a.params;
  if (p.length !== specs.length)
    return `version ${a.version} announces ${p.length} parameter arrays, the model has ${specs.length}`;
  for (let i = 0; i < specs.length; i++) {
    const same =
      p[i].name === specs[i].name &&
      p[i].shape.length === specs[i].shape.length &&
      p[i].shape.every((d, j) => d === specs[i].shape[j]);
    if (!same)
      return `version ${a.version}: parameter ${i} is ${p[i].name} [${p[i].shape.join(',')}], the model has ${specs[i].name} [${specs[i].shape.join(',')}]`;
  }
  return undefined;
}
