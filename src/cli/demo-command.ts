import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterConfigSchema } from '../cluster/cluster-config.js';
import { runCluster, runDirOf } from '../cluster/launcher/run-cluster.js';
import { loadConfigFile } from '../config/load-config.js';
import { NodeConfigSchema } from '../cluster/node/node-config.js';
import { headlineOf } from './cluster-command.js';
import { withProgress } from './progress-bar.js';

const two = (n: number) => String(n).padStart(2, '0');

/**
 * A new directory for this demo: `<base>-YYYYmmdd-HHMMSS` (local time), `-2`, `-3`, … when taken.
 * `make demo` run twice keeps both runs instead of refusing (or mixing) the second.
 */
export function freshRunDir(
  base: string,
  now = new Date(),
  taken: (p: string) => boolean = existsSync,
): string {
  const stamp =
    `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-` +
    `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  let dir = `${base}-${stamp}`;
  for (let i = 2; taken(dir); i++) dir = `${base}-${stamp}-${i}`;
  return dir;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'the built-in demo: a local cluster (NATS, 2 policy replicas, 3 generators, a judge) runs TSO on the embedded task',
    )
    .option('--config <file>', 'cluster config', 'config/cluster.yaml')
    .option(
      '--run-dir <dir>',
      'where the run writes its record (default: a new runs/<run_id>-YYYYmmdd-HHMMSS)',
    )
    .option('--overwrite', 'with --run-dir: delete the run already in it and start again')
    .option('--verbose', "show every node's log lines, not only progress and warnings")
    .action(async (o) => {
      const cfg = await loadConfigFile(o.config, ClusterConfigSchema);
      for (const n of cfg.nodes) {
        const nc = await loadConfigFile(n, NodeConfigSchema);
        if (nc.model && !existsSync(join(nc.model, 'manifest.json'))) {
          throw new Error(
            `${n}: model ${nc.model} is missing: run \`make pretrain\` (or restore models/ from git)`,
          );
        }
      }
      const runDir: string = o.runDir ?? freshRunDir(runDirOf(cfg));
      if (!o.runDir) process.stderr.write(`[demo] this run writes its record to ${runDir}\n`);
      // The demo prints the headline itself, after the cluster stopped; nodes log warnings only unless --verbose.
      const env: Record<string, string> = {
        TSO_HEADLINE: '0',
        ...(o.verbose ? {} : { TSO_LOG_LEVEL: 'warn' }),
      };
      const code = await withProgress((out) =>
        runCluster({ configPath: o.config, runDir, overwrite: o.overwrite, env, out }),
      );
      if (code === 0) await headlineOf(runDir);
      process.exitCode = code;
    });
}
