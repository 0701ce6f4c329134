import { Command } from 'commander';
import { runCluster } from '../cluster/launcher/run-cluster.js';

export function clusterCommand(): Command {
  return new Command('cluster')
    .description(
      'run a whole cluster on this machine: NATS (if none answers), every node as a process, the coordinator',
    )
    .requiredOption('--config <file>', 'cluster config, e.g. config/cluster.yaml')
    .option('--run-dir <dir>', 'where the run writes its record (default runs/<run_id>)')
    .action(async (o) => {
      process.exitCode = await runCluster({ configPath: o.config, runDir: o.runDir });
    });
}

export function resumeCommand(): Command {
  return new Command('resume')
    .description('continue an interrupted run from its last checkpoint (starts its cluster again)')
    .argument('<run-dir>', 'the run directory, e.g. runs/demo')
    .option('--nats <url>', 'NATS server URL')
    .option('--coordinator-only', 'only the coordinator (the nodes are already running)')
    .action(async (runDir: string, o) => {
      if (o.coordinatorOnly) {
        const { runCoordinator } = await import('../cluster/coordinator/run-coordinator.js');
        const { printHeadline } = await import('./headline.js');
        printHeadline(await runCoordinator(undefined, { resumeDir: runDir, nats: o.nats }));
        return;
      }
      process.exitCode = await runCluster({ resumeDir: runDir });
    });
}
