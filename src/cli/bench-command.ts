import { Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { interleave, median, type Comparison } from '../bench/compare.js';
import { DEFAULT_BENCH, runBench, type BenchOptions, type BenchReport } from '../bench/run-bench.js';
import { runTorchReference, type TorchResult } from '../bench/torch-reference.js';
import { runTransportBench } from '../bench/transport-bench.js';
import {
  GROWTH_GENERATORS,
  GROWTH_SHAPES,
  growthTables,
  parseShapes,
  runGrowthBench,
} from '../bench/growth-bench.js';
import { DEFAULT_GPT_CONFIG } from '../model/config.js';
import { backendOption, intArg } from './options.js';

// Issue 12's targets, printed next to the measured medians (never asserted in tests).
const TARGET_STEP_RATIO = 1.0;
const TARGET_GENERATION_RATIO = 1.5;

/** One JSON object: tso's medians over the rounds, PyTorch's, the per-round ratios and every round. */
function comparisonReport(c: Comparison<BenchReport, TorchResult>): Record<string, unknown> {
  const med = <T>(rows: T[], f: (r: T) => number) => Math.round(median(rows.map(f)) * 10) / 10;
  return {
    ...c.tso[0],
    dpo_step_ms: med(c.tso, (r) => r.dpo_step_ms),
    dpo_step_ms_single_thread: med(c.tso, (r) => r.dpo_step_ms_single_thread),
    train_tokens_per_s: med(c.tso, (r) => r.train_tokens_per_s),
    generate_ms: med(c.tso, (r) => r.generate_ms),
    generate_tokens_per_s: med(c.tso, (r) => r.generate_tokens_per_s),
    peak_rss_mb: Math.max(...c.tso.map((r) => r.peak_rss_mb)),
    tensors_leaked_per_run: Math.max(...c.tso.map((r) => r.tensors_leaked_per_run)),
    rounds: c.rounds,
    torch: {
      impl: c.torch[0].impl,
      threads: c.torch[0].threads,
      dpo_step_ms: med(c.torch, (r) => r.dpo_step_ms),
      train_tokens_per_s: med(c.torch, (r) => r.train_tokens_per_s),
      generate_ms: med(c.torch, (r) => r.generate_ms),
      generate_tokens_per_s: med(c.torch, (r) => r.generate_tokens_per_s),
    },
    ratios: c.ratios,
    per_round: c.tso.map((t, i) => ({
      tso_dpo_step_ms: t.dpo_step_ms,
      torch_dpo_step_ms: c.torch[i].dpo_step_ms,
      tso_generate_tokens_per_s: t.generate_tokens_per_s,
      torch_generate_tokens_per_s: c.torch[i].generate_tokens_per_s,
    })),
  };
}

/** "1,2,4" → [1, 2, 4]: positive integers only. */
function intList(v: string): number[] {
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1))
    throw new InvalidArgumentError(`expected a comma list of integers >= 1, got "${v}"`);
  return xs;
}

function shapeList(v: string) {
  try {
    return parseShapes(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('measure one DPO step and KV-cached generation; prints one JSON object')
    .option('--json', 'print compact single-line JSON (default: indented)')
    .option(
      '--compare',
      'also run the PyTorch reference (scripts/torch_reference.py), alternating with tso, and report median ratios',
    )
    .option('--rounds <n>', 'with --compare: alternating tso/PyTorch rounds', intArg, 5)
    .option(
      '--transport',
      'measure gradient exchange and reference refresh over NATS against raw NATS and raw loopback TCP',
    )
    .option(
      '--params <list>',
      'with --transport: model sizes in parameters',
      intList,
      [100_000, 867_840, 5_000_000, 20_000_000],
    )
    .option(
      '--cluster',
      'a real local cluster (2 replicas, then 1; generators, judge): phase times, coordination overhead, scaling, and the transport figures of its size',
    )
    .option('--generators <n>', 'with --cluster or --growth: generator nodes', intArg, 3)
    .option(
      '--growth',
      'the --cluster figures for several model shapes (--shapes, at --generators) and generator counts (--generator-counts, at the --d-model/--layers shape); prints JSON, and markdown tables on stderr',
    )
    .option(
      '--shapes <list>',
      'with --growth: model shapes DxL or DxLxH',
      shapeList,
      parseShapes(GROWTH_SHAPES),
    )
    .option('--generator-counts <list>', 'with --growth: generator counts', intList, GROWTH_GENERATORS)
    .option('--readers <list>', 'with --transport: reference refresh reader counts', intList, [1, 2, 4, 8])
    .addOption(backendOption())
    .option('--threads <n>', 'data-parallel replica threads for the step', intArg, DEFAULT_BENCH.threads)
    .option('--iters <n>', 'timed iterations', intArg, DEFAULT_BENCH.iters)
    .option('--pairs <n>', 'preference pairs per step', intArg, DEFAULT_BENCH.pairs)
    .option('--layers <n>', 'transformer layers', intArg, DEFAULT_GPT_CONFIG.nLayer)
    .option('--d-model <n>', 'model width', intArg, DEFAULT_GPT_CONFIG.dModel)
    .option('--heads <n>', 'attention heads', intArg, DEFAULT_GPT_CONFIG.nHead)
    .option('--ctx <n>', 'context length', intArg, DEFAULT_GPT_CONFIG.blockSize)
    .addOption(new Option('--quiet', 'no progress lines on stderr'))
    .action(async (o) => {
      const config = {
        ...DEFAULT_GPT_CONFIG,
        nLayer: o.layers,
        dModel: o.dModel,
        nHead: o.heads,
        blockSize: o.ctx,
      };
      const log = o.quiet ? undefined : (l: string) => process.stderr.write(`${l}\n`);
      const opts: BenchOptions = {
        ...DEFAULT_BENCH,
        backend: o.backend,
        config,
        threads: o.threads,
        iters: o.iters,
        pairs: o.pairs,
        log,
      };
      let report: Record<string, unknown>;
      if (o.growth || o.cluster) {
        // --cluster is the growth sweep reduced to this one shape and no generator sweep.
        const growth = await runGrowthBench({
          base: config,
          shapes: o.growth ? o.shapes : [config],
          generatorCounts: o.growth ? o.generatorCounts : [],
          generators: o.generators,
          backend: o.backend,
          pairsPerStep: o.pairs,
          reps: o.iters,
          readers: o.readers,
          log,
        });
        if (o.growth) process.stderr.write(`${growthTables(growth)}\n`);
        const { cluster, transport } = growth.sizes[0];
        report = o.growth ? { ...growth } : { cluster, transport };
      } else if (o.transport)
        report = await runTransportBench({ params: o.params, subscribers: o.readers, reps: o.iters, log });
      else if (!o.compare) report = await runBench(opts);
      else {
        const torchOpts = {
          pairs: o.pairs,
          genBatch: DEFAULT_BENCH.genBatch,
          newTokens: DEFAULT_BENCH.newTokens,
          threads: o.threads,
          iters: o.iters,
        };
        const cmp = await interleave(
          o.rounds,
          () => runBench(opts),
          () => Promise.resolve(runTorchReference(config, torchOpts)),
          log,
        );
        report = comparisonReport(cmp);
      }
      report.machine_cores = availableParallelism();
      process.stdout.write(JSON.stringify(report, null, o.json ? undefined : 2) + '\n');
      if (o.compare && !o.json) {
        const r = report.ratios as Comparison<BenchReport, TorchResult>['ratios'];
        const s = r.dpo_step_vs_torch;
        const g = r.generate_tokens_per_s_vs_torch;
        process.stderr.write(
          `dpo_step_ms tso/torch: median ${s.median} (min ${s.min}, max ${s.max}; target <= ${TARGET_STEP_RATIO})\n`,
        );
        process.stderr.write(
          `generate_tokens_per_s tso/torch: median ${g.median} (min ${g.min}, max ${g.max}; target >= ${TARGET_GENERATION_RATIO})\n`,
        );
      }
    });
}
