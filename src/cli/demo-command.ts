import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterConfigSchema } from '../cluster/cluster-config.js';
import { runCluster } from '../cluster/launcher/run-cluster.js';
import { loadConfigFile } from '../config/load-config.js';
import { NodeConfigSchema } from '../cluster/node/node-config.js';
import { headlineOf } from './cluster-command.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'the built-in demo: a local cluster (NATS, 2 policy replicas, 3 generators, a judge) runs TSO on the embedded task',
    )
    .option('--config <file>', 'cluster config', 'config/cluster.yaml')
    .option('--run-dir <dir>', 'where the run writes its record (default runs/<run_id>)')
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
      // The demo prints the headline itself, after the cluster stopped; nodes log warnings only unless --verbose.
      const env: Record<string, string> = {
        TSO_HEADLINE: '0',
        ...(o.verbose ? {} : { TSO_LOG_LEVEL: 'warn' }),
      };
      const code = await runCluster({ configPath: o.config, runDir: o.runDir, env });
      if (code === 0) await headlineOf(o.runDir ?? cfg.run_dir ?? join('runs', cfg.run.run_id));
      process.exitCode = code;
    });
}
