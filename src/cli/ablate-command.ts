import { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../backend/select-backend.js';
import { ClusterConfigSchema } from '../cluster/cluster-config.js';
import { runLocal } from '../cluster/local-run.js';
import { loadConfigFile } from '../config/load-config.js';
import { ABLATIONS, ablationTable, type AblationCell } from '../tso/ablation.js';
import { intArg } from './options.js';

export function ablateCommand(): Command {
  return new Command('ablate')
    .description('run TSO and its ablations on the same data and seeds; prints a markdown table')
    .requiredOption('--config <file>', 'cluster config whose run and models to use, e.g. config/cluster.yaml')
    .option('--seeds <n>', 'seeds per variant', intArg, 2)
    .option('--only <keys>', `comma-separated subset of: ${ABLATIONS.map((a) => a.key).join(', ')}`)
    .option('--out <dir>', 'where to write the runs and the table (default runs/ablate-<run_id>)')
    .action(async (o) => {
      await initBackend('auto');
      const cfg = await loadConfigFile(o.config, ClusterConfigSchema);
      const keys = o.only ? String(o.only).split(',') : ABLATIONS.map((a) => a.key);
      const unknown = keys.filter((k) => !ABLATIONS.some((a) => a.key === k));
      if (unknown.length) throw new Error(`--only: unknown variant(s) ${unknown.join(', ')}`);
      const out = o.out ?? join('runs', `ablate-${cfg.run.run_id}`);
      await mkdir(out, { recursive: true });
      const cells: AblationCell[] = [];
      for (let s = 0; s < o.seeds; s++) {
        for (const a of ABLATIONS.filter((x) => keys.includes(x.key))) {
          const seed = cfg.run.seed + s;
          const run = a.apply({ ...cfg.run, seed, run_id: `${cfg.run.run_id}-${a.key}-s${seed}` });
          process.stderr.write(`[ablate] ${a.name}, seed ${seed}\n`);
          const r = await runLocal(cfg, { runDir: join(out, a.key, `seed-${seed}`), run });
          cells.push({
            key: a.key,
            seed,
            gold_reward: r.final.gold_reward,
            exact_match: r.final.exact_match,
            initial_exact_match: r.initial.exact_match,
            wall_s: r.wall_s,
          });
          await writeFile(
            join(out, 'ablation.json'),
            JSON.stringify({ config: o.config, seeds: o.seeds, cells }, null, 2) + '\n',
          );
        }
      }
      const table = ablationTable(cells, o.seeds);
      await writeFile(join(out, 'ablation.md'), `# Ablations of ${cfg.run.run_id}\n\n${table}`);
      process.stdout.write(table);
      process.stderr.write(`[ablate] saved ${join(out, 'ablation.md')} and ablation.json\n`);
    });
}
