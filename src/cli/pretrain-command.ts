// `tso pretrain`: trains the model matrix and the initial policy (see src/tso/pretrain.ts).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES } from '../backend/select-backend.js';
import { headroomOf, PRETRAIN_SPECS, pretrain, type PretrainSummary } from '../tso/pretrain.js';
import { floatArg, intArg, nonNegIntArg } from './options.js';

function namesArg(v: string): string[] {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const known = PRETRAIN_SPECS.map((s) => s.name);
  const bad = names.filter((n) => !known.includes(n));
  if (names.length === 0 || bad.length)
    throw new InvalidArgumentError(`expected a comma-separated subset of ${known.join(', ')}, got "${v}"`);
  return names;
}

export function pretrainCommand(): Command {
  return new Command('pretrain')
    .description(
      'train the model matrix (matrix/large, matrix/medium, matrix/sort-expert, matrix/small) and the ' +
        'initial policy (policy-init: a stable-phase checkpoint; medium is its start with a full schedule) by seeded SFT on the task; ' +
        'progress on stderr, a summary table on stdout',
    )
    .option('--out <dir>', 'output directory', 'models')
    .option('--seed <s>', 'seed of the data, initial weights and batch order', intArg, 0)
    .option(
      '--workers <n>',
      'models trained concurrently in worker threads (0 = in this thread)',
      nonNegIntArg,
      2,
    )
    .option(
      '--only <names>',
      `train only these models (${PRETRAIN_SPECS.map((s) => s.name).join(',')})`,
      namesArg,
    )
    .option(
      '--steps-scale <x>',
      'multiply every step count (quick checks; 1 for the shipped models)',
      floatArg,
      1,
    )
    .option('--progress-every <n>', 'steps between progress lines', intArg, 50)
    .option(
      '--curve-every <n>',
      'record a learning curve: exact-match on 150 held-out prompts every n steps (0 = none)',
      nonNegIntArg,
      0,
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend (the shipped models are trained on wasm)')
        .choices([...BACKEND_NAMES])
        .default('wasm'),
    )
    .option('--quiet', 'no progress lines')
    .action(async (o) => {
      if (!(o.stepsScale > 0)) throw new InvalidArgumentError('--steps-scale must be > 0');
      const t0 = Date.now();
      const summary = await pretrain({
        out: o.out,
        seed: o.seed,
        backend: o.backend,
        workers: o.workers,
        only: o.only,
        stepsScale: o.stepsScale,
        progressEvery: Math.max(1, o.progressEvery),
        curveEvery: o.curveEvery,
        onProgress: o.quiet
          ? undefined
          : (p) =>
              process.stderr.write(
                `pretrain ${p.name.padEnd(11)} step ${String(p.step).padStart(5)}/${p.steps}  ` +
                  `loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ` +
                  `${(p.elapsedMs / 1000).toFixed(1)}s (wall ${((Date.now() - t0) / 1000).toFixed(0)}s)\n`,
              ),
      });
      await mkdir(o.out, { recursive: true });
      const file = join(o.out, 'pretrain-summary.json');
      // --only retrains some models: the others' recorded results (and SHA-256s) stay in the summary.
      if (o.only) {
        const previous = await readFile(file, 'utf8').then(
          (t) => JSON.parse(t) as typeof summary,
          () => undefined,
        );
        const fresh = new Set(summary.models.map((m) => m.name));
        if (previous) {
          summary.models = [...previous.models.filter((m) => !fresh.has(m.name)), ...summary.models];
          summary.headroom = headroomOf(summary.models);
        }
      }
      await writeFile(file, JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(formatPretrainTable(summary) + '\n');
    });
}

/** The summary as a plain-text table. */
export function formatPretrainTable(s: PretrainSummary): string {
  const kinds = ['sort', 'rev', 'add'];
  const head = ['model', 'role', 'params', 'shape', 'steps', 'exact', 'gold', ...kinds, 'train_s'];
  const rows = s.models.map((m) => [
    m.dir || m.name,
    m.role,
    String(m.params),
    m.shape,
    String(m.steps),
    m.exact_match.toFixed(3),
    m.gold_reward.toFixed(3),
    ...kinds.map((k) => (m.by_kind[k]?.exact_match ?? 0).toFixed(2)),
    m.train_s.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const headroom = s.headroom.map(
    (h) =>
      `headroom: ${h.model} ${h.exact_match.toFixed(3)} at ${h.steps} steps, ` +
      `${h.probe_exact_match.toFixed(3)} at ${h.probe_steps} (${h.probe})`,
  );
  return [
    line(head),
    ...rows.map(line),
    ...headroom,
    `wall time ${s.wall_s.toFixed(1)} s (seed ${s.seed})`,
  ].join('\n');
}
