import { Command } from 'commander';
import { runCoordinator } from '../cluster/coordinator/run-coordinator.js';
import { printHeadline } from './headline.js';

export function coordinatorCommand(): Command {
  return new Command('coordinator')
    .description('drive a TSO run over the nodes registered in the cluster')
    .requiredOption('--config <file>', 'cluster config, e.g. config/cluster.yaml')
    .option('--nats <url>', 'NATS server URL (overrides the config)')
    .option('--run-dir <dir>', 'where the run writes its record (default runs/<run_id>)')
    .option(
      '--overwrite',
      'delete the run already in the run dir and start again (else a non-empty one is refused)',
    )
    .option(
      '--ui <host:port>',
      'dashboard, labelling page and /metrics at HOST:PORT, or "off" (default 127.0.0.1, a free port)',
    )
    .action(async (o) => {
      const report = await runCoordinator(o.config, {
        nats: o.nats,
        runDir: o.runDir,
        overwrite: o.overwrite,
        ui: o.ui,
      });
      if (process.env.TSO_HEADLINE !== '0') printHeadline(report);
    });
}
