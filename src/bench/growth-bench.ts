// `tso bench --growth`: how the cluster's costs grow with the model and with the matrix. The same
// figures as `tso bench --cluster` (phase times, coordination overhead, scaling, gradient exchange and
// reference refresh against the wire) for several model shapes at a fixed number of generators, and
// for several generator counts at one shape; plus the markdown table the README shows.
import type { BackendName } from '../backend/select-backend.js';
import { paramCount, type GPTConfig } from '../model/config.js';
import { runClusterBench, type ClusterRun } from './cluster-bench.js';
import { runTransportBench } from './transport-bench.js';

/** A model shape on the command line: `DxL` or `DxLxH` (width, layers, heads). */
export interface ShapeSpec {
  dModel: number;
  nLayer: number;
  nHead: number;
}

/** ~0.1M, 0.87M (the benchmark shape), ~4.9M and ~19M parameters at vocab 259, context 64. */
export const GROWTH_SHAPES = '48x3x4,128x4x4,256x6x8,512x6x8';
export const GROWTH_GENERATORS = [1, 2, 4, 8];

/** "128x4" → 4 heads (width ≤ 128), wider → 8; "256x6x16" sets them. */
export function parseShapes(v: string): ShapeSpec[] {
  return v.split(',').map((part) => {
    const xs = part.trim().split('x').map(Number);
    const [d, l, h = d <= 128 ? 4 : 8] = xs;
    const ok = (xs.length === 2 || xs.length === 3) && [d, l, h].every((x) => Number.isInteger(x) && x >= 1);
    if (!ok || d % h !== 0)
      throw new Error(`shape "${part}": expected DxL or DxLxH with positive integers and D divisible by H`);
    return { dModel: d, nLayer: l, nHead: h };
  });
}

export interface GrowthOptions {
  base: GPTConfig;
  shapes: ShapeSpec[];
  generatorCounts: number[];
  /** Generators of the shape sweep. */
  generators: number;
  backend: BackendName;
  pairsPerStep: number;
  /** Repetitions of each transport figure. */
  reps: number;
  readers: number[];
  log?: (line: string) => void;
}

// The first mini-batch is warm-up and not counted (cluster-bench.ts): 2 counted, of 4 steps each.
const CLUSTER_RUN = { minibatches: 3, stepsPerMinibatch: 4 };

export async function runGrowthBench(o: GrowthOptions) {
  const sizes = [];
  for (const s of o.shapes) {
    const config = { ...o.base, ...s };
    o.log?.(`growth: ${paramCount(config)} parameters (d ${s.dModel}, ${s.nLayer} layers)`);
    const cluster = await runClusterBench({ ...CLUSTER_RUN, ...o, config });
    const transport = await runTransportBench({
      params: [cluster.params],
      subscribers: o.readers,
      reps: o.reps,
      log: o.log,
    });
    sizes.push({ shape: s, cluster, transport: transport.sizes[0] });
  }
  const generators = [];
  for (const g of o.generatorCounts) {
    o.log?.(`growth: ${g} generator(s) at ${paramCount(o.base)} parameters`);
    const c = await runClusterBench({
      ...CLUSTER_RUN,
      ...o,
      config: o.base,
      generators: g,
      replicaCounts: [2],
    });
    generators.push({ generators: g, params: c.params, run: c.runs[0] });
  }
  return { sizes, generators };
}

export type GrowthReport = Awaited<ReturnType<typeof runGrowthBench>>;

const fmtParams = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M` : `${Math.round(n / 1e3)}K`;
const phases = (r: ClusterRun, names: string[]) =>
  names.map((p) => (r.iteration_phase_s[p] ?? 0).toFixed(2)).join(' / ');
const PHASES = ['generate', 'pairs', 'reference', 'train', 'refresh', 'evaluate', 'checkpoint'];

/** The two README tables: growth with the model, and with the generators. */
export function growthTables(g: GrowthReport): string {
  const lines = [
    `| parameters | step, 2 / 1 replicas | slowest replica's compute (2 replicas) | coordination overhead (2 / 1) | scaling efficiency | gradient chunked vs raw NATS | refresh to ${g.sizes[0]?.transport.refresh.map((r) => r.readers).join(' / ') ?? ''} readers (× raw loopback) |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of g.sizes) {
    const [two, one] = [2, 1].map((n) => s.cluster.runs.find((r) => r.replicas === n));
    const t = s.transport;
    lines.push(
      `| ${fmtParams(s.cluster.params)} | ${two?.step_ms ?? '–'} / ${one?.step_ms ?? '–'} ms | ${two?.slowest_replica_compute_ms ?? '–'} ms | ${two?.coordination_overhead ?? '–'} / ${one?.coordination_overhead ?? '–'} | ${s.cluster.scaling_efficiency_2_replicas ?? '–'} | ${t.gradient_chunked_ms} vs ${t.gradient_raw_nats_ms} ms | ${t.refresh.map((r) => `${r.object_store_ms} ms (${r.vs_loopback}×)`).join(' / ')} |`,
    );
  }
  lines.push(
    '',
    `| generators | iteration phases (s): ${PHASES.join(' / ')} | step | coordination overhead |`,
    '|---|---|---|---|',
  );
  for (const r of g.generators)
    lines.push(
      `| ${r.generators} | ${phases(r.run, PHASES)} | ${r.run.step_ms} ms | ${r.run.coordination_overhead} |`,
    );
  return lines.join('\n');
}
