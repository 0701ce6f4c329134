// `tso ui RUN_DIR`: the dashboard and the pairs browser of a finished (or stopped) run, read-only, from
// its files. Serves until Ctrl-C.
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { RunMetrics } from '../metrics/run-metrics.js';
import { DEFAULT_UI } from '../ui/coordinator-ui.js';
import { parseHostPort } from '../ui/http-io.js';
import { loadRunDir } from '../ui/run-files.js';
import { RunStore } from '../ui/run-store.js';
import { startUiServer } from '../ui/ui-server.js';
import { logger } from '../util/log.js';

export function uiCommand(): Command {
  return new Command('ui')
    .description("serve a run's dashboard read-only from its files (report, metrics, steps, pairs, labels)")
    .argument('<run-dir>', 'the run directory, e.g. runs/demo')
    .option('--ui <host:port>', 'where to serve (default 127.0.0.1, a free port)', DEFAULT_UI)
    .action(async (runDir: string, o: { ui: string }) => {
      const isDir = await stat(runDir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDir) throw new Error(`${runDir}: no such run directory`);
      const { host, port } = parseHostPort(o.ui);
      const store = new RunStore({ run_id: runDir, of: 0, live: false, human_source: '' });
      await loadRunDir(store, runDir);
      const metrics = new RunMetrics(store);
      const server = await startUiServer({ host, port, store, runDir, metrics, log: logger('ui') });
      process.stderr.write(`serving ${runDir} read-only: ${server.link}\n(Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      metrics.close();
      await server.close();
    });
}
