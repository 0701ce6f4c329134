// Everything around the loop that does not depend on where the models live: the task's prompts, the
// held-out evaluation against the initial policy, the exported policy, the human-feedback source, progress lines.
import type { Judge } from '../../judges/types.js';
import { loadModel, saveModel } from '../../model/checkpoint.js';
import { GPT } from '../../model/gpt.js';
import { decodeWeights } from '../../model/weights-codec.js';
import { evaluatePolicy, metricsOnly } from '../evaluate.js';
import { OracleFeedback } from '../oracle-feedback.js';
import { QueueFeedback } from '../queue-feedback.js';
import { WebFeedback } from '../web-feedback.js';
import { loadTask } from '../../tasks/load-task.js';
import type { HeldoutItem, Task } from '../../tasks/task.js';
import { judgeWinRate } from '../judge-eval.js';
import type { LoopPrompt } from './build-pairs.js';
import { fitPrompts } from './prompt-fit.js';
import type { TaskSummary } from './report.js';
import type { LoopHooks, ProgressEvent, StatefulHuman } from './run-loop.js';
import type { RunConfig } from './run-config.js';
import type { RunDir } from './run-dir.js';

export interface RunData {
  train: LoopPrompt[];
  heldout: HeldoutItem[];
  /** The run's task: gold scorer and categories for evaluation, the oracle and diagnostics. */
  task: Task;
  summary: TaskSummary;
}

/** A model's context, against which every prompt is checked at load. */
export interface ModelContext {
  name: string;
  blockSize: number;
}

/**
 * The task's train prompts (drawn with the run seed) and its fixed held-out set, checked against every
 * model's context (fitPrompts); both written to RUN_DIR/data.
 */
export async function prepareData(
  cfg: RunConfig,
  dir: RunDir,
  contexts: readonly ModelContext[] = [],
): Promise<RunData> {
  const task = await loadTask(cfg.task);
  const fit = fitPrompts(task, contexts, cfg.task.too_long);
  const train = fit.keep(await task.train(cfg.seed));
  const heldout = fit.keep(await task.heldout());
  if (train.length === 0 || heldout.length === 0)
    throw new Error(
      `task ${task.name}: no ${train.length === 0 ? 'train' : 'held-out'} prompt left to run on`,
    );
  await dir.init();
  await dir.writeAtomic('data/train.jsonl', train.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await dir.writeAtomic('data/heldout.jsonl', heldout.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const summary: TaskSummary = {
    name: task.name,
    kind: cfg.task.kind,
    train_prompts: train.length,
    heldout_prompts: heldout.length,
    gold: task.gold !== undefined,
    skipped_too_long: fit.skipped(),
  };
  return { train, heldout, task, summary };
}

export function humanSource(
  cfg: RunConfig,
  dir: RunDir,
  task: Task,
): { human?: StatefulHuman; label: string; web?: WebFeedback } {
  const h = cfg.correction.human;
  if (cfg.correction.mode !== 'ai+human' || h.source === 'none') return { label: 'none' };
  if (h.source === 'oracle') {
    // A jsonl task without gold is refused when the config loads; a module's gold is known only now.
    if (!task.gold)
      throw new Error(
        `correction.human.source: "oracle" needs a gold scorer, and task ${task.name} has none`,
      );
    const o = new OracleFeedback({ budgetPerIteration: h.budget_per_iteration, score: task.gold });
    return { human: o, label: `${o.name}, budget ${h.budget_per_iteration}/iteration` };
  }
  if (h.source === 'web') {
    // Answered on the coordinator's labelling page (src/ui/); without a page the fallback applies.
    const web = new WebFeedback({
      runDir: dir.root,
      waitMs: h.wait_s * 1000,
      budgetPerIteration: h.budget_per_iteration,
      seed: cfg.seed,
    });
    return { human: web, web, label: `web labelling page, budget ${h.budget_per_iteration}/iteration` };
  }
  const q = new QueueFeedback({ runDir: dir.root, waitMs: h.wait_s * 1000 });
  return { human: q, label: `labelling queue (${dir.path('disputes.jsonl')} → ${dir.path('labels.jsonl')})` };
}

/** Evaluation and export hooks; the initial policy is the baseline of win rate and KL. */
export async function modelHooks(
  cfg: RunConfig,
  data: RunData,
  initialPolicyDir: string,
  judge?: Judge,
): Promise<Pick<LoopHooks, 'evaluate' | 'exportPolicy' | 'gold'> & { dispose(): void }> {
  const { model: baseline } = await loadModel(initialPolicyDir, false);
  let baselineResponses: string[] | undefined;
  const withModel = async <T>(weights: Uint8Array, f: (m: GPT) => Promise<T> | T): Promise<T> => {
    const { header, values } = decodeWeights(weights);
    const m = GPT.fromArrays(header.config, values, false);
    try {
      return await f(m);
    } finally {
      m.dispose();
    }
  };
  return {
    evaluate: (weights) =>
      withModel(weights, async (m) => {
        const r = evaluatePolicy(m, data.heldout, {
          maxNewTokens: cfg.eval.max_new_tokens,
          baseline,
          baselineResponses,
          seed: cfg.seed,
          task: data.task,
        });
        baselineResponses ??= r.responses.map((x) => x.baseline_response ?? '');
        // Without gold, the judge compares the policy with the initial policy instead.
        if (!data.task.gold && judge) r.judge_win_rate_vs_baseline = await judgeWinRate(judge, r.responses);
        return metricsOnly(r);
      }),
    exportPolicy: (weights, out, meta) =>
      withModel(
        weights,
        async (m) => void (await saveModel(m, out, { weightVersion: String(meta.run_id ?? ''), meta })),
      ),
    // Diagnostics only: scores the prompts the task can score, nothing else.
    gold: data.task.gold,
    dispose: () => baseline.dispose(),
  };
}

/** Periodic status lines (stderr): what phase, which mini-batch, loss and reward accuracy. */
export function progressPrinter(
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): (e: ProgressEvent) => void {
  const t0 = Date.now();
  let lastTrain = 0;
  return (e) => {
    const head = `[tso ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] mini-batch ${e.minibatch + 1}/${e.of}`;
    if (e.phase === 'train') {
      if (Date.now() - lastTrain < 2000) return;
      lastTrain = Date.now();
      const s = e.step;
      write(
        `${head} train step ${s.step} epoch ${s.epoch + 1} loss ${s.loss.toFixed(4)} reward-acc ${s.metrics.rewardAccuracy.toFixed(2)} replicas ${s.replicas}`,
      );
    } else {
      write(`${head} ${e.phase}`);
    }
  };
}
