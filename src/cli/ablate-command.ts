// `tso ablate`: TSO and its ablations on the same prompts, budget and schedule, over several seeds, each
// (variant, seed) cell in its own process (`tso ablate-cell`), `--jobs` at a time. Writes every cell's
// run dir, ablation.md, ablation.json and curves.svg under --out; prints the table (or, with --json,
// one JSON object). Exits non-zero when a cell failed, after the others finished.
import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterConfigSchema } from '../cluster/cluster-config.js';
import { loadConfigFile } from '../config/load-config.js';
import { mayHaveGold } from '../tasks/task-config.js';
import { curvesSvg } from '../tso/ablation/curves.js';
import { killRunningCells, runCells, type CellOutcome, type CellSpec } from '../tso/ablation/run-cells.js';
import { DEFAULT_SEED_COUNT, parseSeeds } from '../tso/ablation/seeds.js';
import { summarise } from '../tso/ablation/summary.js';
import { ablationMarkdown } from '../tso/ablation/table.js';
import { selectVariants, VARIANTS, variantKeys } from '../tso/ablation/variants.js';
import { intArg } from './options.js';

const SUMMARY_FILES = ['ablation.md', 'ablation.json', 'curves.svg'];

/** What a previous `tso ablate` wrote into `out` (its files and variant dirs); [] for a fresh dir. */
async function previousResults(out: string): Promise<string[]> {
  const entries = await readdir(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const ours = new Set([...SUMMARY_FILES, ...VARIANTS.map((v) => v.key)]);
  return entries.filter((e) => ours.has(e)).sort();
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function progressLine(o: CellOutcome, done: number, total: number): string {
  const head = `[ablate] ${done}/${total} done, ${o.spec.variant} seed ${o.spec.seed}`;
  const wall = `(${Math.round(o.wall_s)} s)`;
  if (!o.ok) return `${head}: FAILED ${o.failure.error} ${wall}\n`;
  const f = o.result.final;
  return `${head}: exact ${f.exact_match.toFixed(3)}, gold ${f.gold_reward.toFixed(3)} ${wall}\n`;
}

interface AblateOptions {
  config: string;
  seeds?: string;
  only?: string;
  jobs: number;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
}

export function ablateCommand(): Command {
  return new Command('ablate')
    .description(
      'run TSO and its ablations on the same prompts, budget and seeds, in parallel; prints a markdown table',
    )
    .requiredOption('--config <file>', 'cluster config whose run and models to use, e.g. config/cluster.yaml')
    .option(
      '--seeds <n|list>',
      `a count N (seeds run.seed .. run.seed+N-1) or a list like 11,12,13 (default ${DEFAULT_SEED_COUNT})`,
    )
    .option('--only <keys>', `comma-separated subset of: ${variantKeys()}`)
    .option('--jobs <n>', 'cells run at once, one process each (default: available cores)', intArg)
    .option('--out <dir>', 'where to write the runs, the table and the curves (default runs/ablate-<run_id>)')
    .option('--overwrite', 'replace the results of a previous ablation in --out')
    .option('--json', 'print one JSON object on stdout instead of the table (the table is still saved)')
    .action(async (o: AblateOptions) => {
      const cfg = await loadConfigFile(o.config, ClusterConfigSchema);
      // The tables compare variants by held-out gold metrics: a task without gold has none to compare.
      if (!mayHaveGold(cfg.run.task))
        throw new Error(`${o.config}: run.task.gold: tso ablate needs a task with a gold scorer, got "none"`);
      const variants = selectVariants(o.only);
      const seeds = parseSeeds(o.seeds, cfg.run.seed);
      const jobs = o.jobs ?? availableParallelism();
      if (!(jobs >= 1)) throw new Error(`--jobs: expected an integer >= 1, got ${jobs}`);
      const out = o.out ?? join('runs', `ablate-${cfg.run.run_id}`);
      const previous = await previousResults(out);
      if (previous.length > 0 && !o.overwrite)
        throw new Error(
          `--out ${out} already holds ablation results (${previous.join(', ')}); ` +
            'pass --overwrite to replace them, or choose another --out',
        );
      // All of them, not only the selected variants': the dir must not mix this ablation with an older one.
      for (const e of previous) await rm(join(out, e), { recursive: true, force: true });
      await mkdir(out, { recursive: true });

      const specs: CellSpec[] = seeds.flatMap((seed) =>
        variants.map((v) => ({ variant: v.key, seed, runDir: join(out, v.key, `seed-${seed}`) })),
      );
      process.stderr.write(
        `[ablate] ${plural(specs.length, 'cell')} (${plural(variants.length, 'variant')} × ` +
          `${plural(seeds.length, 'seed')}: ${seeds.join(', ')}), ` +
          `${jobs} at a time, into ${out}\n`,
      );
      const onSignal = (signal: NodeJS.Signals) => {
        killRunningCells();
        process.stderr.write(`[ablate] ${signal}: stopped the running cells\n`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let outcomes: CellOutcome[];
      try {
        outcomes = await runCells(specs, {
          jobs,
          argsOf: (s) => [
            ...process.execArgv,
            process.argv[1], // this CLI's entry point (bin/tso.js)
            'ablate-cell',
            ...['--config', o.config, '--variant', s.variant, '--seed', String(s.seed), '--out', s.runDir],
          ],
          onSettled: (r, done, total) => process.stderr.write(progressLine(r, done, total)),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }

      const summary = summarise(
        variants,
        seeds,
        outcomes.flatMap((r) => (r.ok ? [r.result] : [])),
        outcomes.flatMap((r) => (r.ok ? [] : [r.failure])),
      );
      const markdown = ablationMarkdown(summary, cfg.run.run_id);
      await writeFile(join(out, 'ablation.md'), markdown);
      await writeFile(
        join(out, 'ablation.json'),
        JSON.stringify({ config: o.config, ...summary }, null, 2) + '\n',
      );
      await writeFile(join(out, 'curves.svg'), curvesSvg(summary.variants));
      process.stdout.write(o.json ? JSON.stringify(summary) + '\n' : markdown);
      process.stderr.write(`[ablate] saved ablation.md, ablation.json and curves.svg in ${out}\n`);
      if (summary.failed.length > 0) {
        for (const f of summary.failed)
          process.stderr.write(`[ablate] FAILED ${f.variant} seed ${f.seed}: ${f.error}\n`);
        process.stderr.write(`[ablate] ${summary.failed.length} of ${specs.length} cells failed\n`);
        process.exitCode = 1;
      }
    });
}
