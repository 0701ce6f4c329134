// What the pages show, as plain JSON: the run, its nodes, one point per optimizer step and one per
// iteration. Built from the live loop (coordinator) or from a finished run's files (`tso ui`).
import type { StepLog } from '../tso/loop/train-pairs.js';

export interface RunView {
  run_id: string;
  /** false for `tso ui RUN_DIR`: nothing changes and nothing can be labelled. */
  live: boolean;
  started_at_ms: number;
  /** 0-based mini-batch in progress (= minibatches done when finished). */
  minibatch: number;
  of: number;
  phase: string;
  phase_started_ms: number;
  step: number;
  state: 'waiting' | 'running' | 'done' | 'failed';
  message: string;
  human_source: string;
}

export interface NodeView {
  id: string;
  role: string;
  model: string;
  tier: number;
  backend: string;
  address: string;
  weight_version: string;
  heartbeat_age_s: number | null;
  lost: boolean;
  lost_reason?: string;
}

export interface StepPoint {
  step: number;
  iteration: number;
  loss: number;
  reward_accuracy: number;
  margin: number;
  chosen_reward: number;
  rejected_reward: number;
  clipped_chosen: number;
  clipped_rejected: number;
}

export interface IterationPoint {
  iteration: number;
  gold_reward: number | null;
  exact_match: number | null;
  kl: number | null;
  disputes: number | null;
  human_labels: number | null;
  prior_ai_agreement: number | null;
  ai_human_agreement: number | null;
  phase_wall_s: Record<string, number>;
}

export function stepPoint(s: StepLog): StepPoint {
  const m = s.metrics;
  return {
    step: s.step,
    iteration: s.iteration,
    loss: s.loss,
    reward_accuracy: m.rewardAccuracy,
    margin: m.margin,
    chosen_reward: m.chosenReward,
    rejected_reward: m.rejectedReward,
    clipped_chosen: m.fractionChosenClipped,
    clipped_rejected: m.fractionRejectedClipped,
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** One metrics.jsonl row (iteration 0 = the initial evaluation). */
export function iterationPoint(row: Record<string, unknown>): IterationPoint | undefined {
  const iteration = num(row.iteration);
  if (iteration === null) return undefined;
  const d = rec(row.diagnostics);
  const c = rec(row.correction);
  const wall: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec(d.phase_wall_s))) if (num(v) !== null) wall[k] = v as number;
  return {
    iteration,
    gold_reward: num(row.gold_reward),
    exact_match: num(row.exact_match),
    kl: num(row.kl_to_baseline),
    disputes: num(d.disputes),
    human_labels: num(d.human_labels),
    prior_ai_agreement: num(c.priorAiAgreement),
    ai_human_agreement: num(c.aiHumanAgreement),
    phase_wall_s: wall,
  };
}

/** A steps.jsonl row back into a point (the same fields a live StepLog has). */
export function stepPointOfRow(row: Record<string, unknown>): StepPoint | undefined {
  const m = rec(row.metrics);
  const step = num(row.step);
  const loss = num(row.loss);
  if (step === null || loss === null) return undefined;
  return {
    step,
    iteration: num(row.iteration) ?? 0,
    loss,
    reward_accuracy: num(m.rewardAccuracy) ?? 0,
    margin: num(m.margin) ?? 0,
    chosen_reward: num(m.chosenReward) ?? 0,
    rejected_reward: num(m.rejectedReward) ?? 0,
    clipped_chosen: num(m.fractionChosenClipped) ?? 0,
    clipped_rejected: num(m.fractionRejectedClipped) ?? 0,
  };
}
