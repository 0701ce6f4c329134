// The TSO run: mini-batch after mini-batch of generate → prior → AI/human correction → scaled pairs →
// train → refresh the reference → evaluate → checkpoint. Resumable from the last checkpoint.
import type { PreferencePair } from '../../data/formats.js';
import type { EvalMetrics } from '../evaluate.js';
import { sha256Hex } from '../../model/weights-codec.js';
import type { HumanFeedback } from '../correction.js';
import type { CorrectionStats } from '../correction.js';
import type { OracleFeedbackState } from '../oracle-feedback.js';
import { buildPairs, priorFromConfig, type LoopPrompt } from './build-pairs.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint-io.js';
import type { CheckpointState } from './checkpoint-state.js';
import { iterationDiagnostics, type GoldScorer, type IterationDiagnostics } from './diagnostics.js';
import { generateFor, promptsFor } from './generate-step.js';
import type { GenerateResult, MissingWork, NodeEvent, StepTiming, TrainingPort } from './port.js';
import type { RunConfig } from './run-config.js';
import type { RunDir } from './run-dir.js';
import {
  poolPair,
  scheduledPairs,
  trainingPool,
  trainPairs,
  trainSchedule,
  withReference,
  type PoolPair,
  type StepLog,
} from './train-pairs.js';

/** Held-out metrics (src/tso/evaluate.ts), without the per-prompt responses. */
export type EvalSummary = EvalMetrics;

/** A human source whose spent budget must survive a resume (the oracle). */
export interface StatefulHuman extends HumanFeedback {
  beginIteration?(iteration: number): void;
  getState?(): OracleFeedbackState;
  setState?(s: OracleFeedbackState): void;
}

export type ProgressEvent =
  | {
      phase: 'generate' | 'pairs' | 'reference' | 'refresh' | 'evaluate' | 'checkpoint';
      minibatch: number;
      of: number;
    }
  | { phase: 'train'; minibatch: number; of: number; step: StepLog };

export interface LoopHooks {
  evaluate(weights: Uint8Array, iteration: number): Promise<EvalSummary>;
  exportPolicy(weights: Uint8Array, dir: string, meta: Record<string, unknown>): Promise<void>;
  human?: StatefulHuman;
  onProgress?(e: ProgressEvent): void;
  /** The task's gold scorer, for diagnostics only (measuring pairs after the fact). */
  gold?: GoldScorer;
}

export interface IterationRecord {
  iteration: number;
  prompts: number;
  responses: number;
  candidates: number;
  /** Pairs selected before correction. */
  selected: number;
  pairs: number;
  correction: CorrectionStats;
  missing: MissingWork[];
  steps: number;
  loss_first: number | null;
  loss_last: number | null;
  reward_accuracy_last: number | null;
  reference_version: string;
  /** Replicas that acknowledged the refreshed reference. */
  refresh_acks: string[];
  eval?: EvalSummary;
  diagnostics: IterationDiagnostics;
  wall_s: number;
}

export interface LoopResult {
  initial: EvalSummary;
  final: EvalSummary;
  iterations: IterationRecord[];
  events: NodeEvent[];
  totals: CheckpointState['totals'];
  steps: number;
  loss_last: number | null;
  policy_version: string;
}

/** A checkpoint's history.json (hashed in state.json): the run so far and the replay pool. */
interface RunHistory {
  initial: EvalSummary;
  iterations: IterationRecord[];
  /** Pairs of the last `pairs.replay` mini-batches, oldest first (absent in older checkpoints). */
  replay?: PoolPair[][];
}

export async function runTso(
  port: TrainingPort,
  cfg: RunConfig,
  data: { train: LoopPrompt[] },
  dir: RunDir,
  hooks: LoopHooks,
  opts: { resume: boolean },
): Promise<LoopResult> {
  const total = cfg.minibatches;
  const progress = (phase: Exclude<ProgressEvent['phase'], 'train'>, minibatch: number) =>
    hooks.onProgress?.({ phase, minibatch, of: total });
  let state: CheckpointState;
  let initial: EvalSummary;
  const prior = priorFromConfig(cfg);
  const iterations: IterationRecord[] = [];
  const replay: PoolPair[][] = [];
  const events: NodeEvent[] = [];
  if (opts.resume) {
    const ckpt = await readCheckpoint<RunHistory>(dir);
    state = ckpt.state;
    const { weights, optimizer } = ckpt;
    // A fixed reference is the run's initial policy, not the checkpointed one.
    await port.restore(
      { weights, optimizer, version: state.reference_version },
      { reference: cfg.reference === 'fixed' ? 'initial' : 'policy' },
    );
    if (state.oracle) hooks.human?.setState?.(state.oracle);
    if (state.prior) prior.setState(state.prior);
    for (const [file, n] of Object.entries({
      'pairs.jsonl': state.rows.pairs,
      'steps.jsonl': state.rows.steps,
      'metrics.jsonl': state.rows.metrics,
      'events.jsonl': state.rows.events,
    })) {
      await dir.truncateJsonl(file, n);
    }
    initial = ckpt.history.initial;
    iterations.push(...ckpt.history.iterations);
    replay.push(...(ckpt.history.replay ?? []));
  } else {
    await dir.init();
    progress('evaluate', 0);
    const snap = await port.snapshot();
    initial = await hooks.evaluate(snap.weights, 0);
    await dir.appendJsonl('metrics.jsonl', [{ iteration: 0, phase: 'initial', ...initial }]);
    state = {
      format: 'tso-checkpoint',
      version: 1,
      run_id: cfg.run_id,
      minibatches_done: 0,
      steps_done: 0,
      rows: { pairs: 0, steps: 0, metrics: 1, events: 0 },
      reference_version: snap.version,
      policy_sha256: sha256Hex(snap.weights),
      optimizer_sha256: sha256Hex(snap.optimizer),
      seed: cfg.seed,
      totals: { pairs: 0, disputes: 0, human_labels: 0, missing: 0 },
      saved_at: new Date().toISOString(),
    };
  }

  // Offline DPO (ablation): every pair comes from responses generated once, before any training.
  const offline = new Map<number, GenerateResult>();
  if (cfg.pairs_mode === 'offline') {
    for (let i = 0; i < total; i++)
      offline.set(i, await generateFor(port, cfg, i, promptsFor(cfg, data.train, i)));
  }

  let lastEval: EvalSummary = iterations.at(-1)?.eval ?? initial;
  // A mini-batch's metrics row is written before its checkpoint (which counts the rows), so the row
  // carries the previous mini-batch's checkpoint time (none in the first row of a run or a resume).
  let lastCheckpointS: number | undefined;
  for (let i = state.minibatches_done; i < total; i++) {
    const t0 = performance.now();
    const wall: Record<string, number> = lastCheckpointS === undefined ? {} : { checkpoint: lastCheckpointS };
    // Wall time per phase, for the diagnostics (where an iteration's time goes).
    const timed = async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
      const s0 = performance.now();
      try {
        return await f();
      } finally {
        wall[phase] = (wall[phase] ?? 0) + (performance.now() - s0) / 1000;
      }
    };
    hooks.human?.beginIteration?.(i);
    const prompts = promptsFor(cfg, data.train, i);
    progress('generate', i);
    const gen = offline.get(i) ?? (await timed('generate', () => generateFor(port, cfg, i, prompts)));
    progress('pairs', i);
    const built = await timed('pairs', () =>
      buildPairs(cfg, i, prompts, gen.responses, {
        judge: cfg.correction.mode === 'none' ? undefined : port.judge(),
        human: hooks.human,
        prior,
      }),
    );
    await dir.appendJsonl('pairs.jsonl', built.rows satisfies PreferencePair[]);
    progress('reference', i);
    const fresh = built.pairs.map(poolPair);
    const pool = trainingPool(replay, fresh);
    const used = scheduledPairs(pool, trainSchedule(cfg, i, pool.length));
    const withRef = await timed('reference', () => withReference(port, used.pairs));
    const timings: StepTiming[] = [];
    const steps = await timed('train', () =>
      trainPairs(
        port,
        cfg,
        i,
        withRef,
        used.schedule,
        state.steps_done,
        (step) => hooks.onProgress?.({ phase: 'train', minibatch: i, of: total, step }),
        timings,
      ),
    );
    await dir.appendJsonl('steps.jsonl', steps);
    let refVersion = state.reference_version;
    let acks: string[] = [];
    if (cfg.reference === 'iterative') {
      progress('refresh', i);
      const r = await timed('refresh', () => port.refreshReference(`v${i + 1}`));
      refVersion = r.version;
      acks = r.acks;
    }
    progress('evaluate', i);
    const snap = await port.snapshot();
    const isLast = i === total - 1;
    let evalSummary: EvalSummary | undefined;
    if (isLast || (i + 1) % cfg.eval.every === 0) {
      evalSummary = await timed('evaluate', () => hooks.evaluate(snap.weights, i + 1));
      lastEval = evalSummary;
    }
    const diagnostics = iterationDiagnostics({
      pairs: built.pairs,
      trainPairs: withRef,
      steps,
      stats: built.stats,
      selected: built.selected,
      prior,
      gold: hooks.gold,
      phaseWallS: wall,
      stepTimings: timings,
    });
    await dir.appendJsonl('metrics.jsonl', [
      { iteration: i + 1, phase: 'minibatch', ...(evalSummary ?? {}), diagnostics, correction: built.stats },
    ]);
    const newEvents = port.drainEvents();
    events.push(...newEvents);
    await dir.appendJsonl('events.jsonl', newEvents);
    const stats = built.stats;
    iterations.push({
      iteration: i + 1,
      prompts: prompts.length,
      responses: gen.responses.length,
      candidates: built.candidates,
      selected: built.selected,
      pairs: built.pairs.length,
      correction: stats,
      missing: gen.missing,
      steps: steps.length,
      loss_first: steps[0]?.loss ?? null,
      loss_last: steps.at(-1)?.loss ?? null,
      reward_accuracy_last: steps.at(-1)?.metrics.rewardAccuracy ?? null,
      reference_version: refVersion,
      refresh_acks: acks,
      eval: evalSummary,
      diagnostics,
      wall_s: (performance.now() - t0) / 1000,
    });
    replay.push(fresh);
    replay.splice(0, Math.max(0, replay.length - cfg.pairs.replay));
    progress('checkpoint', i);
    state = {
      ...state,
      minibatches_done: i + 1,
      steps_done: state.steps_done + steps.length,
      rows: {
        pairs: state.rows.pairs + built.rows.length,
        steps: state.rows.steps + steps.length,
        metrics: state.rows.metrics + 1,
        events: state.rows.events + newEvents.length,
      },
      reference_version: refVersion,
      policy_sha256: sha256Hex(snap.weights),
      optimizer_sha256: sha256Hex(snap.optimizer),
      oracle: hooks.human?.getState?.(),
      prior: prior.getState(),
      totals: {
        pairs: state.totals.pairs + built.pairs.length,
        disputes: state.totals.disputes + stats.disputes,
        human_labels: state.totals.human_labels + stats.humanResolved,
        missing: state.totals.missing + gen.missing.length,
      },
      saved_at: new Date().toISOString(),
    };
    // Crash-safe (checkpoint-io.ts): a new checkpoint dir, then the LATEST pointer; the previous one is kept.
    const c0 = performance.now();
    await writeCheckpoint(dir, {
      state,
      weights: snap.weights,
      optimizer: snap.optimizer,
      history: { initial, iterations, replay } satisfies RunHistory,
    });
    lastCheckpointS = (performance.now() - c0) / 1000;
  }
  const final = await port.snapshot();
  await hooks.exportPolicy(final.weights, dir.path('policy'), {
    run_id: cfg.run_id,
    iterations: total,
    eval: lastEval,
  });
  const lastStep = iterations.at(-1);
  return {
    initial,
    final: lastEval,
    iterations,
    events,
    totals: state.totals,
    steps: state.steps_done,
    loss_last: lastStep?.loss_last ?? null,
    policy_version: final.version,
  };
}
