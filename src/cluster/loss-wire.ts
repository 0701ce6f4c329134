// The loss configuration and training pairs on the wire (tso.v1.LossOptions / tso.v1.TrainPair), in
// one place for the coordinator that sends them and the policy replica that reads them back.
import type { LossConfig, ShardPair } from '../tso/dpo-step.js';
import type { LossName } from '../tso/losses.js';
import { ClipUnits, LossKind, type LossOptions, type TrainPair as WirePair } from '../transport/index.js';

const KIND: Record<LossName, LossKind> = {
  'dual-clip': LossKind.DUAL_CLIP,
  dpo: LossKind.DPO,
  ipo: LossKind.IPO,
  sft: LossKind.SFT,
};
const NAME = new Map<number, LossName>(Object.entries(KIND).map(([k, v]) => [v, k as LossName]));

// The wire has no Infinity convention of its own: a clip turned off travels as 0 (proto default).
const finite = (x: number): number => (Number.isFinite(x) ? x : 0);

export function lossToWire(loss: LossConfig): LossOptions {
  return {
    kind: KIND[loss.name],
    beta: loss.beta,
    clipChosen: finite(loss.clipChosen),
    clipRejected: finite(loss.clipRejected),
    sftWeight: loss.sftWeight ?? 0,
    clipUnits: (loss.clipUnits ?? 'per-token') === 'per-token' ? ClipUnits.PER_TOKEN : ClipUnits.SEQUENCE,
  };
}

/** The loss a GradientRequest asks for, or undefined when its kind is missing or unknown. */
export function lossFromWire(w: LossOptions | undefined): LossConfig | undefined {
  const name = w ? NAME.get(w.kind) : undefined;
  if (!w || !name) return undefined;
  return {
    name,
    beta: w.beta,
    clipChosen: w.clipChosen || Infinity,
    clipRejected: w.clipRejected || Infinity,
    sftWeight: w.sftWeight,
    // UNSPECIFIED is what a sender from before the field meant: clips on the summed reward.
    clipUnits: w.clipUnits === ClipUnits.PER_TOKEN ? 'per-token' : 'sequence',
  };
}

export function pairToWire(p: ShardPair, id: string): WirePair {
  return {
    id,
    prompt: p.prompt,
    chosen: p.chosen,
    rejected: p.rejected,
    weight: p.weight,
    anchor: p.anchor,
    refChosenLogprob: p.refChosen,
    refRejectedLogprob: p.refRejected,
  };
}

export function pairFromWire(p: WirePair): ShardPair {
  return {
    prompt: p.prompt,
    chosen: p.chosen,
    rejected: p.rejected,
    weight: p.weight,
    anchor: p.anchor,
    refChosen: p.refChosenLogprob,
    refRejected: p.refRejectedLogprob,
  };
}
