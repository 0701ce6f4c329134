import { Command } from 'commander';
import { runNode } from '../cluster/node/run-node.js';

export function nodeCommand(): Command {
  return new Command('node')
    .description('run one actor (policy replica, generator or judge) as this process')
    .requiredOption('--config <file>', 'node config, e.g. nodes/gen-large.yaml')
    .option('--nats <url>', 'NATS server URL (overrides the config)')
    .option('--listen <host:port>', 'gRPC address to bind (overrides the config)')
    .option('--advertise <host:port>', 'gRPC address other hosts should use (overrides the config)')
    .option('--metrics <host:port>', 'serve Prometheus metrics (process, RPC latencies and errors) here')
    .action(async (o) => {
      const node = await runNode(o.config, {
        nats: o.nats,
        listen: o.listen,
        advertise: o.advertise,
        metrics: o.metrics,
      });
      process.stdout.write(`node serving at ${node.address}\n`);
      if (node.metricsUrl) process.stdout.write(`node metrics at ${node.metricsUrl}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void node.stop().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
