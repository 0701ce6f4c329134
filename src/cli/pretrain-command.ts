// `tso pretrain`: trains the demo's model matrix and initial policy (see src/tso/pretrain.ts).
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES } from '../backend/select-backend.js';
import { PRETRAIN_SPECS, formatPretrainTable, pretrain } from '../tso/pretrain.js';
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
      'train the demo model matrix (matrix/small, matrix/medium, matrix/large) and the initial policy ' +
        '(policy-init) by seeded SFT on the demo task; progress on stderr, a summary table on stdout',
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
      await writeFile(join(o.out, 'pretrain-summary.json'), JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(formatPretrainTable(summary) + '\n');
    });
}
