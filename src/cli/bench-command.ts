import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { DEFAULT_BENCH, runBench } from '../bench/run-bench.js';
import { runTorchReference } from '../bench/torch-reference.js';
import { DEFAULT_GPT_CONFIG } from '../model/config.js';
import { backendOption, intArg } from './options.js';

export function benchCommand(): Command {
  return new Command('bench')
    .description('measure one DPO step and KV-cached generation; prints one JSON object')
    .option('--json', 'print compact single-line JSON (default: indented)')
    .option('--compare', 'also run the PyTorch reference (scripts/torch_reference.py) and report ratios')
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
      const report: Record<string, unknown> = await runBench({
        ...DEFAULT_BENCH,
        backend: o.backend,
        config,
        threads: o.threads,
        iters: o.iters,
        pairs: o.pairs,
        log,
      });
      report.machine_cores = availableParallelism();
      if (o.compare) {
        log?.('bench: running the PyTorch reference (same shape, same thread count)');
        const torch = runTorchReference(config, {
          pairs: o.pairs,
          genBatch: DEFAULT_BENCH.genBatch,
          newTokens: DEFAULT_BENCH.newTokens,
          threads: o.threads,
        });
        report.torch = torch;
        report.ratios = {
          // > 1 means tso is slower than PyTorch.
          dpo_step_vs_torch: Math.round(((report.dpo_step_ms as number) / torch.dpo_step_ms) * 100) / 100,
          // > 1 means tso generates faster than PyTorch.
          generate_tokens_per_s_vs_torch:
            Math.round(((report.generate_tokens_per_s as number) / torch.generate_tokens_per_s) * 100) / 100,
        };
      }
      process.stdout.write(JSON.stringify(report, null, o.json ? undefined : 2) + '\n');
      if (o.compare && !o.json) {
        const r = report.ratios as Record<string, number>;
        process.stderr.write(`dpo_step_ms tso/torch = ${r.dpo_step_vs_torch} (target <= 2)\n`);
        process.stderr.write(
          `generate_tokens_per_s tso/torch = ${r.generate_tokens_per_s_vs_torch} (target >= 0.5)\n`,
        );
      }
    });
}
