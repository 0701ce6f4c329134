// `tso bench` through the real CLI on a tiny shape: one JSON object with per-thread heap figures and
// no leaked tensors; `--compare` alternates with the PyTorch yardstick when Debian's torch is there;
// `--growth` (and so `--cluster`, its one-shape case) runs real local clusters.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runTsoCommand } from '../helpers/tso-process.js';

// A 1-layer, 32-wide model: the whole bench takes seconds. Context 64 leaves room for 48 new tokens.
const TINY = '--iters 1 --layers 1 --d-model 32 --heads 2 --ctx 64 --pairs 4'.split(' ');
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('tso bench', () => {
  it('prints one JSON object: step, generation, peak RSS, wasm heap per thread, no leaks', async () => {
    const r = await runTsoCommand(['bench', '--json', '--threads', '2', ...TINY], 240_000);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]) as Record<string, unknown> & {
      wasm_heap_mb: { main: number | null; single_thread_step: number[]; parallel_step: number[] };
    };
    expect(j.backend).toBe('wasm');
    // The project's own wasm kernels are in use, and the JSON says so.
    expect(j.own_kernels).toEqual([
      'Slice',
      'SplitV',
      'GatherV2',
      'TsoHeadsMatMul',
      'BatchMatMul',
      '_FusedMatMul',
    ]);
    for (const k of ['dpo_step_ms', 'dpo_step_ms_single_thread', 'generate_tokens_per_s', 'peak_rss_mb'])
      expect(j[k] as number, k).toBeGreaterThan(0);
    expect(j.tensors_leaked_per_run).toBe(0);
    expect(j.wasm_heap_mb.single_thread_step).toHaveLength(1);
    expect(j.wasm_heap_mb.parallel_step).toHaveLength(2);
    for (const mb of [...j.wasm_heap_mb.single_thread_step, ...j.wasm_heap_mb.parallel_step])
      expect(mb).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/data-parallel DPO step across 2 replica threads/);
  }, 300_000);

  it.skipIf(!hasTorch)(
    '--compare alternates with PyTorch and reports median ratios with their range',
    async () => {
      const r = await runTsoCommand(
        ['bench', '--compare', '--rounds', '2', '--threads', '1', ...TINY],
        400_000,
      );
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as {
        rounds: number;
        ratios: Record<string, { median: number; min: number; max: number; per_round: number[] }>;
        per_round: unknown[];
        torch: { dpo_step_ms: number };
      };
      expect(j.rounds).toBe(2);
      expect(j.per_round).toHaveLength(2);
      expect(j.torch.dpo_step_ms).toBeGreaterThan(0);
      for (const k of ['dpo_step_vs_torch', 'generate_tokens_per_s_vs_torch']) {
        const s = j.ratios[k];
        expect(s.per_round).toHaveLength(2);
        expect(s.min).toBeLessThanOrEqual(s.median);
        expect(s.median).toBeLessThanOrEqual(s.max);
      }
      // Round 1 runs tso first, round 2 PyTorch first.
      expect(r.stderr.indexOf('round 1/2: tso')).toBeLessThan(r.stderr.indexOf('round 1/2: PyTorch'));
      expect(r.stderr.indexOf('round 2/2: PyTorch')).toBeLessThan(r.stderr.indexOf('round 2/2: tso'));
      expect(r.stderr).toMatch(/dpo_step_ms tso\/torch: median \S+ \(min \S+, max \S+; target <= 1\)/);
    },
    450_000,
  );

  it('--transport: gradient exchange and reference refresh against raw NATS and raw loopback', async () => {
    const args = [
      'bench',
      '--transport',
      '--json',
      '--params',
      '1000,200000',
      '--readers',
      '1,3',
      '--iters',
      '1',
    ];
    const r = await runTsoCommand(args, 240_000);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      sizes: {
        params: number;
        bytes: number;
        gradient_chunked_ms: number;
        gradient_raw_nats_ms: number;
        refresh: { readers: number; object_store_ms: number; raw_loopback_ms: number }[];
      }[];
    };
    expect(j.sizes.map((s) => [s.params, s.bytes])).toEqual([
      [1000, 4000],
      [200000, 800000],
    ]);
    for (const s of j.sizes) {
      expect(s.gradient_chunked_ms).toBeGreaterThan(0);
      expect(s.gradient_raw_nats_ms).toBeGreaterThan(0);
      expect(s.refresh.map((x) => x.readers)).toEqual([1, 3]);
      for (const x of s.refresh) expect(Math.min(x.object_store_ms, x.raw_loopback_ms)).toBeGreaterThan(0);
    }
    // It starts its own (password-protected) nats-server and says where.
    expect(r.stderr).toMatch(/started nats-server at nats:\/\/127\.0\.0\.1:\d+/);
  }, 300_000);
});

describe('tso bench --growth (the --cluster figures over shapes and generator counts)', () => {
  it('runs real local clusters and prints every cost figure, consistent with each other', async () => {
    const r = await runTsoCommand(
      [
        'bench',
        '--growth',
        '--json',
        '--shapes',
        '32x1x2',
        '--generators',
        '1',
        '--generator-counts',
        '2',
        '--iters',
        '2',
        '--ctx',
        '64',
        '--pairs',
        '4',
      ],
      500_000,
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    type Run = {
      replicas: number;
      minibatches_counted: number;
      iteration_phase_s: Record<string, number>;
      step_ms: number;
      slowest_replica_compute_ms: number;
      coordination_overhead: number;
    };
    const j = JSON.parse(r.stdout) as {
      sizes: {
        shape: { dModel: number; nLayer: number; nHead: number };
        cluster: { params: number; grad_shards: number; runs: Run[]; scaling_efficiency_2_replicas: number };
        transport: {
          params: number;
          bytes: number;
          refresh: { readers: number; object_store_ms: number; raw_loopback_ms: number }[];
        };
      }[];
      generators: { generators: number; run: Run }[];
    };
    expect(j.sizes).toHaveLength(1);
    const { shape, cluster, transport } = j.sizes[0];
    expect(shape).toEqual({ dModel: 32, nLayer: 1, nHead: 2 });
    const [two, one] = cluster.runs;
    expect([two.replicas, one.replicas]).toEqual([2, 1]);
    expect(cluster.grad_shards).toBe(2);
    const runs = [two, one, ...j.generators.map((g) => g.run)];
    for (const run of runs) {
      for (const phase of ['generate', 'pairs', 'reference', 'train', 'refresh', 'evaluate', 'checkpoint'])
        expect(run.iteration_phase_s[phase], `${run.replicas} replicas: ${phase}`).toBeGreaterThan(0);
      // 3 mini-batches, the first one warm-up.
      expect(run.minibatches_counted).toBe(2);
      expect(run.slowest_replica_compute_ms).toBeGreaterThan(0);
      expect(run.step_ms).toBeGreaterThan(run.slowest_replica_compute_ms);
      // 1 − compute / wall per step, averaged over iterations: a fraction.
      expect(run.coordination_overhead).toBeGreaterThan(0);
      expect(run.coordination_overhead).toBeLessThan(1);
    }
    // Step time with 1 replica / (2 × step time with 2).
    expect(cluster.scaling_efficiency_2_replicas).toBeCloseTo(one.step_ms / (2 * two.step_ms), 2);
    // The generator sweep runs 2 replicas only, at the --d-model/--layers shape.
    expect(j.generators.map((g) => [g.generators, g.run.replicas])).toEqual([[2, 2]]);
    expect(transport.params).toBe(cluster.params);
    expect(transport.bytes).toBe(4 * cluster.params);
    expect(transport.refresh.map((x) => x.readers)).toEqual([1, 2, 4, 8]);
    for (const x of transport.refresh) {
      expect(x.object_store_ms).toBeGreaterThan(0);
      expect(x.raw_loopback_ms).toBeGreaterThan(0);
    }
    // The README's tables, on stderr: one row per shape, one per generator count.
    expect(r.stderr).toMatch(
      new RegExp(`\\| ${Math.round(cluster.params / 1e3)}K \\| ${two.step_ms} / ${one.step_ms} ms`),
    );
    expect(r.stderr).toMatch(
      new RegExp(
        `\\| 2 \\| [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+ \\| ${j.generators[0].run.step_ms} ms`,
      ),
    );
  }, 600_000);
});
