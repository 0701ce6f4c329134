// A policy replica that joins a running cluster "late", deterministically. A new node process needs
// seconds (tsx, tfjs wasm, model load) before it registers, and on a loaded 2-core machine a short
// test run can finish first: the join then never happens and the test fails for a reason that is not
// the code under test. So the coordinator is paused (SIGSTOP) from the moment the joiner is spawned
// until the joiner has registered ("node serving at"), then resumed (SIGCONT): the joiner is always
// admitted at the next mini-batch boundary, however slow the machine is.
import type { ChildProcess } from 'node:child_process';
import { exited, spawnTso } from './tso-process.js';

export interface LateJoiner {
  child: ChildProcess;
  output(): string;
  /** Resolves once the joiner is registered and the coordinator runs again. */
  admitted: Promise<void>;
}

/** Spawns `tso node --config <config> --nats <url>` while the coordinator is paused. */
export function spawnLateJoiner(
  config: string,
  natsUrl: string,
  coordinator: ChildProcess | undefined,
  timeoutMs = 90_000,
): LateJoiner {
  const joiner = spawnTso(['node', '--config', config, '--nats', natsUrl]);
  const paused = coordinator !== undefined && !exited(coordinator) && coordinator.kill('SIGSTOP');
  const resume = () => {
    if (paused && !exited(coordinator)) coordinator.kill('SIGCONT');
  };
  const admitted = new Promise<void>((resolve) => {
    const started = Date.now();
    const poll = setInterval(() => {
      // Resume whatever happens: a joiner that died or never registered must not hang the run.
      if (
        /node serving at/.test(joiner.output()) ||
        exited(joiner.child) ||
        Date.now() - started > timeoutMs
      ) {
        clearInterval(poll);
        resume();
        resolve();
      }
    }, 100);
  });
  return { child: joiner.child, output: joiner.output, admitted };
}
