// Everything around the loop that does not depend on where the models live: the prompts, the held-out
// evaluation against the initial policy, the exported policy, the human-feedback source, progress lines.
import { readPrompts } from '../../data/formats.js';
import { loadModel, saveModel } from '../../model/checkpoint.js';
import { GPT } from '../../model/gpt.js';
import { decodeWeights } from '../../model/weights-codec.js';
import { evaluatePolicy, metricsOnly } from '../evaluate.js';
import { OracleFeedback } from '../oracle-feedback.js';
import { QueueFeedback } from '../queue-feedback.js';
import { WebFeedback } from '../web-feedback.js';
import { goldScore, heldoutPrompts, kindOf, makeDataset, parseTaskPrompt } from '../task/index.js';
import type { LoopPrompt } from './build-pairs.js';
import type { LoopHooks, ProgressEvent, StatefulHuman } from './run-loop.js';
import type { RunConfig } from './run-config.js';
import type { RunDir } from './run-dir.js';

export interface RunData {
  train: LoopPrompt[];
  heldout: { prompt: string; answer: string }[];
}

/**
 * Train prompts (a JSONL file, or the built-in task's `tso` partition drawn with the run seed, a seeded
 * `human_fraction` of them carrying the gold answer) and the held-out prompts (the first N of the task's
 * fixed, seed-independent held-out set); both written to RUN_DIR/data.
 */
export async function prepareData(cfg: RunConfig, dir: RunDir): Promise<RunData> {
  const t = cfg.task;
  const train: LoopPrompt[] = t.prompts_file
    ? (await readPrompts(t.prompts_file)).map((p, i) => ({
        id: p.id ?? `p${i}`,
        prompt: p.prompt,
        human_response: p.human_response,
      }))
    : makeDataset({
        seed: cfg.seed,
        n: t.train_prompts,
        kinds: t.kinds,
        split: 'tso',
        humanFraction: t.human_fraction,
      });
  // The prompt's kind is its category: the calibrated prior keeps evidence per kind (no gold involved).
  for (const p of train) {
    const kind = kindOf(p.prompt);
    if (kind) p.category = kind;
  }
  const heldout = heldoutPrompts(t.heldout_prompts, t.kinds).map((e) => ({
    prompt: e.prompt,
    answer: e.answer,
  }));
  await dir.init();
  await dir.writeAtomic('data/train.jsonl', train.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await dir.writeAtomic('data/heldout.jsonl', heldout.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { train, heldout };
}

export function humanSource(
  cfg: RunConfig,
  dir: RunDir,
): { human?: StatefulHuman; label: string; web?: WebFeedback } {
  const h = cfg.correction.human;
  if (cfg.correction.mode !== 'ai+human' || h.source === 'none') return { label: 'none' };
  if (h.source === 'oracle') {
    const o = new OracleFeedback({ budgetPerIteration: h.budget_per_iteration });
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
      withModel(weights, (m) => {
        const r = evaluatePolicy(m, data.heldout, {
          maxNewTokens: cfg.eval.max_new_tokens,
          baseline,
          baselineResponses,
          seed: cfg.seed,
        });
        baselineResponses ??= r.responses.map((x) => x.baseline_response ?? '');
        return metricsOnly(r);
      }),
    exportPolicy: (weights, out, meta) =>
      withModel(
        weights,
        async (m) => void (await saveModel(m, out, { weightVersion: String(meta.run_id ?? ''), meta })),
      ),
    // Diagnostics only: scores prompts the task parses, nothing else.
    gold: (prompt, response) => (parseTaskPrompt(prompt) ? goldScore(prompt, response) : undefined),
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
