// `make chaos`: many small `tso cluster` runs (real processes, the launcher's own authenticated
// nats-server), each hit by one fault at a random moment: `kill -9` or SIGSTOP of a random
// non-coordinator node, or `kill -9` of the coordinator followed by `tso resume`. Every run must
// complete; a run whose fault hit only policy replicas or the coordinator must end with the weights of
// the uninterrupted run (the in-process run of the same config, which the cluster equals bit for bit).
// Generator and judge faults legitimately change the pairs (work re-routed or missing, the prior
// deciding), so only their completion is required. Prints a markdown table and a summary line.
//
//   node --import tsx test/chaos/chaos.ts [--runs 20] [--resumes 3] [--seed 1] [--out FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../../src/tso/rng.js';
import { makeFixture } from '../helpers/cluster-fixture.js';
import {
  inProcessPolicySha,
  policySha,
  readJson,
  runClusterLogged,
  type ReportJson,
} from '../helpers/cluster-run.js';
import { runTsoCommand } from '../helpers/tso-process.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    resumes: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const RESUMES = Number(args.resumes);
const SEED = Number(args.seed);
const MB = 3;
const NODES = ['policy-0', 'policy-1', 'gen-a', 'gen-b', 'gen-c', 'judge'];
const PHASES = ['generate', 'pairs', 'reference', 'train', 'evaluate'];

interface Row {
  run: number;
  target: string;
  signal: string;
  at: string;
  hit: boolean;
  code: number;
  lost: string;
  sha: string;
  identical: boolean | null;
  seconds: number;
}

const say = (l: string) => process.stderr.write(`[chaos] ${l}\n`);

async function fixture(name: string) {
  // rpc deadline 20 s: a SIGSTOPped node is found lost within it (and the run still finishes).
  return makeFixture({
    cluster: name,
    rpc_deadline_ms: 20_000,
    run: { run_id: 'chaos', minibatches: MB, minibatch_prompts: 8, epochs: 2, train_batch_pairs: 8 },
  });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const base = await fixture('chaos-base');
  const refDir = mkdtempSync(join(tmpdir(), 'tso-chaos-ref-'));
  const expected = await inProcessPolicySha(base.clusterConfig, join(refDir, 'run'));
  say(`uninterrupted (in-process) run: policy sha256 ${expected.slice(0, 12)}`);
  rmSync(refDir, { recursive: true, force: true });
  rmSync(base.root, { recursive: true, force: true });

  const rows: Row[] = [];
  for (let i = 0; i < RUNS + RESUMES; i++) {
    const rng = Rng.fromSeed(SEED, 'chaos', i);
    const coordinatorKill = i >= RUNS;
    const target = coordinatorKill ? 'coordinator' : rng.pick(NODES);
    const signal = coordinatorKill || rng.bernoulli(0.7) ? 'SIGKILL' : 'SIGSTOP';
    const at = `mini-batch ${1 + rng.below(MB)}/${MB} ${rng.pick(PHASES)}`;
    const fx = await fixture(`chaos-${i}`);
    const started = Date.now();
    let hit = false;
    say(`run ${i + 1}/${RUNS + RESUMES}: ${signal} ${target} at "${at}"`);
    const run = await runClusterLogged(fx.clusterConfig, (line, children) => {
      if (!hit && line.startsWith('[coordinator]') && line.includes(at)) {
        hit = children.get(target)?.kill(signal) ?? false;
      }
    });
    let code = run.code;
    if (coordinatorKill && hit) {
      const r = await runTsoCommand(['resume', fx.runDir], 600_000);
      code = r.code ?? -1;
      if (code !== 0) say(`resume failed:\n${r.stderr.slice(-2000)}`);
    }
    let lost = '';
    let sha = '';
    if (code === 0) {
      const report = readJson<ReportJson>(fx.runDir, 'report.json');
      lost = report.nodes
        .filter((n) => n.lost)
        .map((n) => n.id)
        .join(', ');
      sha = policySha(fx.runDir);
    } else say(`run ${i + 1} failed (exit ${code}):\n${run.lines.slice(-30).join('\n')}`);
    const mustMatch = target.startsWith('policy') || target === 'coordinator';
    rows.push({
      run: i + 1,
      target,
      signal,
      at,
      hit,
      code,
      lost,
      sha: sha.slice(0, 12),
      identical: mustMatch ? sha === expected : null,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    const r = rows[rows.length - 1];
    say(
      `run ${r.run}: exit ${r.code}, lost [${r.lost}], sha ${r.sha}${r.identical === null ? '' : r.identical ? ' = uninterrupted' : ' DIFFERS'}`,
    );
    rmSync(fx.root, { recursive: true, force: true });
  }

  const completed = rows.filter((r) => r.code === 0).length;
  const must = rows.filter((r) => r.identical !== null);
  const same = must.filter((r) => r.identical).length;
  const table = [
    '| run | fault | when (first line of) | fault delivered | exit | lost nodes | final sha256 | = uninterrupted | s |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${r.signal} ${r.target}${r.target === 'coordinator' ? ' + `tso resume`' : ''} | ${r.at} | ${r.hit ? 'yes' : 'no (phase not reached)'} | ${r.code} | ${r.lost || '—'} | \`${r.sha}\` | ${r.identical === null ? 'n/a' : r.identical ? 'yes' : '**no**'} | ${r.seconds} |`,
    ),
  ].join('\n');
  const summary = `chaos: ${completed}/${rows.length} runs completed; ${same}/${must.length} replica and coordinator faults ended bit-identical to the uninterrupted run (\`${expected.slice(0, 12)}\`); ${Math.round((Date.now() - t0) / 1000)} s, seed ${SEED}`;
  process.stdout.write(`${table}\n\n${summary}\n`);
  if (args.out) writeFileSync(args.out, `${table}\n\n${summary}\n`);
  process.exit(completed === rows.length && same === must.length ? 0 : 1);
}

await main();
