// `tso eval`: held-out evaluation of a model directory on the task's fixed held-out set; prints JSON.
import { Command, InvalidArgumentError } from 'commander';
import { initBackend } from '../backend/select-backend.js';
import { loadModel } from '../model/checkpoint.js';
import type { GPT } from '../model/gpt.js';
import { evaluatePolicy, metricsOnly } from '../tso/evaluate.js';
import { TASK_KINDS, demoTask, heldoutPrompts, type TaskKind } from '../tasks/demo/index.js';
import { backendOption, intArg, nonNegIntArg } from './options.js';

function kindsArg(v: string): TaskKind[] {
  const kinds = v.split(',').map((s) => s.trim()) as TaskKind[];
  if (kinds.length === 0 || kinds.some((k) => !TASK_KINDS.includes(k)))
    throw new InvalidArgumentError(
      `expected a comma-separated subset of ${TASK_KINDS.join(', ')}, got "${v}"`,
    );
  return kinds;
}

export function evalCommand(): Command {
  return new Command('eval')
    .description(
      'evaluate a model on the first N prompts of the fixed held-out set (greedy): gold reward, exact match, length, distinct-n, ' +
        'and with --baseline the win rate and a KL estimate; prints JSON',
    )
    .requiredOption('--model <dir>', 'model directory (manifest.json + weights.bin)')
    .option('--n <n>', 'held-out prompts (a balanced prefix of the fixed set of 1200)', intArg, 300)
    .option('--seed <s>', 'seed of the KL samples (the held-out set is fixed)', intArg, 0)
    .option('--kinds <list>', 'task kinds (comma-separated)', kindsArg, [...TASK_KINDS])
    .option('--baseline <dir>', 'model to compare against (adds win_rate_vs_baseline and kl_to_baseline)')
    .option('--max-tokens <n>', 'maximum new tokens per response', nonNegIntArg, 20)
    .option('--batch-size <n>', 'prompts per generation batch', intArg, 64)
    .option('--responses', 'include every prompt with its response and score')
    .addOption(backendOption())
    .action(async (o) => {
      if (o.n < 1) throw new InvalidArgumentError('--n must be >= 1');
      if (o.batchSize < 1) throw new InvalidArgumentError('--batch-size must be >= 1');
      const backend = await initBackend(o.backend);
      const heldout = heldoutPrompts(o.n, o.kinds);
      const { model } = await loadModel(o.model, false);
      let baseline: GPT | undefined;
      try {
        if (o.baseline) baseline = (await loadModel(o.baseline, false)).model;
        const t0 = Date.now();
        const r = evaluatePolicy(model, heldout, {
          maxNewTokens: o.maxTokens,
          batchSize: o.batchSize,
          baseline,
          seed: o.seed,
          task: demoTask(),
        });
        const out = {
          model: o.model,
          ...(o.baseline ? { baseline: o.baseline } : {}),
          backend: backend.name,
          split: { split: 'heldout', fixed_set: true, n: o.n, kinds: o.kinds },
          ...metricsOnly(r),
          eval_s: (Date.now() - t0) / 1000,
          ...(o.responses ? { responses: r.responses } : {}),
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } finally {
        model.dispose();
        baseline?.dispose();
      }
    });
}
