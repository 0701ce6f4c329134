// `tso ablate-cell` (internal, hidden): one (variant, seed) cell of `tso ablate`, run in its own process
// so that cells use separate cores and wasm heaps. Prints exactly one JSON line (the CellResult) on
// stdout; also saves it as cell.json in the cell's run dir. Deterministic given the config and the seed.
import { Command } from 'commander';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../backend/select-backend.js';
import { ClusterConfigSchema } from '../cluster/cluster-config.js';
import { runLocal } from '../cluster/local-run.js';
import { loadConfigFile, parseConfig } from '../config/load-config.js';
import { OracleJudge } from '../judges/oracle-judge.js';
import { readCellMetrics, type CellResult } from '../tso/ablation/cell.js';
import { cellRunConfig, variantByKey } from '../tso/ablation/variants.js';
import { NodeConfigSchema } from '../cluster/node/node-config.js';
import { RunConfigSchema, type RunConfig } from '../tso/loop/run-config.js';
import { loadTask } from '../tasks/load-task.js';
import { nonNegIntArg } from './options.js';

async function assertEmptyDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  // A run dir appends to its JSONL files: running twice into one dir would mix two runs.
  if (entries.length > 0)
    throw new Error(`ablate-cell: --out ${dir} is not empty (holds ${entries.join(', ')})`);
}

/** Distinct generator models the cluster lists (replicas of one model are fail-over targets). */
async function matrixSize(nodeFiles: readonly string[]): Promise<number> {
  const models = new Set<string>();
  for (const f of nodeFiles) {
    const n = await loadConfigFile(f, NodeConfigSchema);
    if (n.role === 'generator') models.add(n.model_name ?? n.model ?? n.id);
  }
  return models.size;
}

/** The gold-scorer upper bound of the oracle-labels variant: the run task's gold, which it must have. */
async function oracleJudgeOf(run: RunConfig): Promise<OracleJudge> {
  const task = await loadTask(run.task);
  if (!task.gold)
    throw new Error(`task ${task.name} has no gold scorer: the oracle-labels variant needs one`);
  return new OracleJudge(task.gold);
}

export function ablateCellCommand(): Command {
  return new Command('ablate-cell')
    .description('internal: one (variant, seed) cell of `tso ablate`; prints one JSON result line')
    .requiredOption('--config <file>', 'the cluster config')
    .requiredOption('--variant <key>', 'the ablation variant')
    .requiredOption('--seed <n>', 'the run seed', nonNegIntArg)
    .requiredOption('--out <dir>', "the cell's run dir (absent or empty)")
    .action(async (o: { config: string; variant: string; seed: number; out: string }) => {
      const variant = variantByKey(o.variant);
      const cfg = await loadConfigFile(o.config, ClusterConfigSchema);
      // Re-validate: a variant must produce a config the loop accepts (e.g. a loss name it knows).
      const run = parseConfig(
        cellRunConfig(cfg.run, variant, o.seed, { matrix: await matrixSize(cfg.nodes) }),
        RunConfigSchema,
        `run config of variant ${variant.key}`,
      );
      await assertEmptyDir(o.out);
      const judge = variant.oracleJudge ? await oracleJudgeOf(run) : undefined;
      await initBackend('auto');
      const report = await runLocal(cfg, {
        runDir: o.out,
        run,
        judge,
      });
      const result: CellResult = {
        variant: variant.key,
        seed: o.seed,
        ...readCellMetrics(await readFile(join(o.out, 'metrics.jsonl'), 'utf8')),
        wall_s: report.wall_s,
        run_dir: o.out,
      };
      await writeFile(join(o.out, 'cell.json'), JSON.stringify(result, null, 2) + '\n');
      process.stdout.write(JSON.stringify(result) + '\n');
    });
}
