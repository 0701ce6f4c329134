import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterConfigSchema } from '../cluster/cluster-config.js';
import { runCluster, runDirOf } from '../cluster/launcher/run-cluster.js';
import { loadConfigFile } from '../config/load-config.js';
import type { Report } from '../tso/loop/report.js';
import { UI_ENV } from '../ui/coordinator-ui.js';
import { printHeadline } from './headline.js';
import { withProgress } from './progress-bar.js';

/** After a successful run, the headline numbers — printed once, after every process has stopped. */
export async function headlineOf(runDir: string): Promise<void> {
  printHeadline(JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as Report);
}

// The coordinator child must not print it too (its lines are interleaved with the nodes' shutdown).
// `--ui` reaches the coordinator child through its environment.
const childEnv = (ui: string | undefined): Record<string, string> => ({
  TSO_HEADLINE: '0',
  ...(ui === undefined ? {} : { [UI_ENV]: ui }),
});

const UI_HELP =
  'dashboard, labelling page and /metrics at HOST:PORT, or "off" (default 127.0.0.1, a free port)';

export function clusterCommand(): Command {
  return new Command('cluster')
    .description(
      'run a whole cluster on this machine: NATS (if none answers), every node as a process, the coordinator',
    )
    .requiredOption('--config <file>', 'cluster config, e.g. config/cluster.yaml')
    .option('--run-dir <dir>', 'where the run writes its record (default runs/<run_id>)')
    .option(
      '--overwrite',
      'delete the run already in the run dir and start again (else a non-empty one is refused)',
    )
    .option('--ui <host:port>', UI_HELP)
    .action(async (o) => {
      const cfg = await loadConfigFile(o.config, ClusterConfigSchema);
      const runDir = runDirOf(cfg, o.runDir);
      const code = await withProgress((out) =>
        runCluster({ configPath: o.config, runDir, overwrite: o.overwrite, env: childEnv(o.ui), out }),
      );
      if (code === 0) await headlineOf(runDir);
      process.exitCode = code;
    });
}

export function resumeCommand(): Command {
  return new Command('resume')
    .description('continue an interrupted run from its last checkpoint (starts its cluster again)')
    .argument('<run-dir>', 'the run directory, e.g. runs/demo')
    .option('--nats <url>', 'NATS server URL')
    .option('--coordinator-only', 'only the coordinator (the nodes are already running)')
    .option('--ui <host:port>', UI_HELP)
    .action(async (runDir: string, o) => {
      if (o.coordinatorOnly) {
        const { runCoordinator } = await import('../cluster/coordinator/run-coordinator.js');
        const report = await runCoordinator(undefined, { resumeDir: runDir, nats: o.nats, ui: o.ui });
        if (process.env.TSO_HEADLINE !== '0') printHeadline(report);
        return;
      }
      const code = await withProgress((out) => runCluster({ resumeDir: runDir, env: childEnv(o.ui), out }));
      if (code === 0) await headlineOf(runDir);
      process.exitCode = code;
    });
}
