// What a checkpoint holds besides the weights: enough to continue the run exactly where it stopped.
import type { PriorState } from '../calibrated-prior.js';
import type { OracleFeedbackState } from '../oracle-feedback.js';

export interface CheckpointState {
  format: 'tso-checkpoint';
  version: 1;
  run_id: string;
  /** Mini-batches fully done (trained, refreshed, evaluated). The next one to run has this index. */
  minibatches_done: number;
  /** Optimizer steps taken so far. */
  steps_done: number;
  /** Rows already in the JSONL logs when the checkpoint was taken (resume truncates to these). */
  rows: { pairs: number; steps: number; metrics: number; events: number };
  reference_version: string;
  policy_sha256: string;
  optimizer_sha256: string;
  oracle?: OracleFeedbackState;
  /** The calibrated prior's evidence (its fit is a pure function of it). */
  prior?: PriorState;
  /** Mini-batch RNG streams are derived from (seed, purpose, index); the seed is the RNG state. */
  seed: number;
  totals: { pairs: number; disputes: number; human_labels: number; missing: number };
  saved_at: string;
  /** run.json's instance_id (set by writeCheckpoint): resume refuses a checkpoint of another run. */
  run_instance?: string;
  /** SHA-256 of history.json (set by writeCheckpoint), verified on resume like the binaries. */
  history_sha256?: string;
}
