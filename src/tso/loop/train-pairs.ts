// Step 6 of a TSO mini-batch: reference log-probs once per pair, then E epochs of optimizer steps over
// shuffled batches of pairs (the port spreads each batch across the policy replicas).
import type { LossConfig } from '../dpo-step.js';
import type { ScaledPair } from '../pairs.js';
import type { PreferenceMetrics } from '../preference-metrics.js';
import { Rng } from '../rng.js';
import type { TrainingPort, TrainPair } from './port.js';
import type { RunConfig } from './run-config.js';

export interface StepLog {
  step: number;
  iteration: number;
  epoch: number;
  pairs: number;
  loss: number;
  metrics: PreferenceMetrics;
  checksum: string;
  replicas: number;
  reassigned: string[];
  /** Why the step was refused (non-finite gradient); absent for an applied step. */
  refused?: string;
}

export function lossConfigOf(cfg: RunConfig): LossConfig {
  return {
    name: cfg.loss.name as LossConfig['name'],
    beta: cfg.loss.beta,
    clipChosen: cfg.loss.clip_chosen,
    clipRejected: cfg.loss.clip_rejected,
    sftWeight: cfg.loss.sft_weight,
  };
}

/** Attaches reference log-probs (computed once per pair) to the pairs. */
export async function withReference(port: TrainingPort, pairs: ScaledPair[]): Promise<TrainPair[]> {
  const rows = [
    ...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen.text })),
    ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected.text })),
  ];
  const ref = rows.length ? await port.referenceLogProbs(rows) : [];
  return pairs.map((p, i) => ({
    prompt: p.prompt,
    chosen: p.chosen.text,
    rejected: p.rejected.text,
    weight: p.weight,
    anchor: p.verified,
    refChosen: ref[i],
    refRejected: ref[pairs.length + i],
  }));
}

export async function trainPairs(
  port: TrainingPort,
  cfg: RunConfig,
  iteration: number,
  pairs: TrainPair[],
  firstStep: number,
  onStep?: (s: StepLog) => void,
): Promise<StepLog[]> {
  const logs: StepLog[] = [];
  const loss = lossConfigOf(cfg);
  let step = firstStep;
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const order = Rng.fromSeed(cfg.seed, 'epoch', iteration, epoch).shuffle(pairs.map((_, i) => i));
    for (let i = 0; i < order.length; i += cfg.train_batch_pairs) {
      const batch = order.slice(i, i + cfg.train_batch_pairs).map((j) => pairs[j]);
      const r = await port.trainStep(step, batch, loss);
      const sums = Object.values(r.checksums);
      const log: StepLog = {
        step,
        iteration,
        epoch,
        pairs: batch.length,
        loss: r.loss,
        metrics: r.metrics,
        checksum: sums[0] ?? '',
        replicas: sums.length,
        reassigned: r.reassigned,
        ...(r.refused ? { refused: r.refused } : {}),
      };
      logs.push(log);
      onStep?.(log);
      step++;
    }
  }
  return logs;
}
