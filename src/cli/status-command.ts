import { Command } from 'commander';
import { buckets, connectNats, createClient, enumName, Membership, Phase, Role } from '../transport/index.js';

export function statusCommand(): Command {
  return new Command('status')
    .description("list the members of a cluster (and a coordinator's progress)")
    .option('--nats <url>', 'NATS server URL', 'nats://127.0.0.1:4222')
    .option('--cluster <name>', 'cluster name (membership namespace)', 'local')
    .option('--coordinator <host:port>', 'also ask this coordinator for its run status')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const nc = await connectNats(o.nats, 'tso-status').catch((e: unknown) => {
        throw new Error(`cannot reach NATS at ${o.nats}: ${(e as Error).message}`);
      });
      try {
        const members = await (
          await Membership.open(nc, { bucket: buckets.nodes(o.cluster), ttlMs: 6000 })
        ).list();
        let run: unknown;
        if (o.coordinator) {
          const c = createClient('tso.v1.Coordinator', o.coordinator, { defaultDeadlineMs: 5000 });
          run = await c.status({});
          c.close();
        }
        if (o.json) {
          process.stdout.write(JSON.stringify({ members, run }, null, 2) + '\n');
          return;
        }
        process.stdout.write(`cluster ${o.cluster} at ${o.nats}: ${members.length} live member(s)\n`);
        for (const m of members) {
          const age = ((Date.now() - m.heartbeatAtMs) / 1000).toFixed(1);
          process.stdout.write(
            `  ${m.nodeId.padEnd(14)} ${enumName(Role, m.role).toLowerCase().padEnd(9)} model=${m.modelName} tier=${m.tier} backend=${m.backend} addr=${m.address} weights=${m.weightVersion} host=${m.hostname} pid=${m.pid} heartbeat ${age}s ago\n`,
          );
        }
        if (run) {
          const r = run as {
            runId: string;
            iteration: number;
            totalIterations: number;
            phase: number;
            step: number;
            message: string;
            uiUrl?: string;
          };
          process.stdout.write(
            `run ${r.runId}: mini-batch ${r.iteration + 1}/${r.totalIterations}, phase ${enumName(Phase, r.phase)}, step ${r.step} ${r.message}\n`,
          );
          if (r.uiUrl)
            process.stdout.write(
              `dashboard: ${r.uiUrl} (the token is in the link the coordinator printed)\n`,
            );
        }
      } finally {
        await nc.close();
      }
    });
}
