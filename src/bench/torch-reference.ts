// Runs the PyTorch yardstick (scripts/torch_reference.py) with the same model shape, so both are
// measured in one run on one machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GPTConfig } from '../model/config.js';

export const TORCH_SCRIPT = fileURLToPath(new URL('../../scripts/torch_reference.py', import.meta.url));

export interface TorchResult {
  impl: string;
  threads: number;
  dpo_step_ms: number;
  train_tokens_per_s: number;
  generate_tokens_per_s: number;
  generate_ms: number;
}

function python(): string {
  // Debian's python3-torch is installed for the system Python, not for pyenv shims.
  return process.env.TSO_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

function run(args: string[]): Record<string, unknown> {
  const r = spawnSync(python(), [TORCH_SCRIPT, ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    const err = (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ');
    const hint = /No module named 'torch'/.test(err)
      ? ' (install: apt-get install -y python3-torch libopenblas0-pthread)'
      : '';
    throw new Error(`PyTorch reference failed: ${err}${hint}`);
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

export function runTorchReference(
  c: GPTConfig,
  o: { pairs: number; genBatch: number; newTokens: number; threads: number; iters: number },
): TorchResult {
  const shape = [
    '--vocab',
    c.vocabSize,
    '--d-model',
    c.dModel,
    '--layers',
    c.nLayer,
    '--heads',
    c.nHead,
    '--ctx',
    c.blockSize,
  ].map(String);
  // The same number of timed iterations as tso's side.
  const threads = ['--threads', String(o.threads), '--iters', String(o.iters)];
  const dpo = run(['--mode', 'dpo', ...shape, '--pairs', String(o.pairs), ...threads]);
  const gen = run([
    '--mode',
    'generate',
    ...shape,
    '--batch',
    String(o.genBatch),
    '--new-tokens',
    String(o.newTokens),
    ...threads,
  ]);
  return {
    impl: String(dpo.impl),
    threads: Number(dpo.threads),
    dpo_step_ms: Number(dpo.dpo_step_ms),
    train_tokens_per_s: Number(dpo.train_tokens_per_s),
    generate_tokens_per_s: Number(gen.generate_tokens_per_s),
    generate_ms: Number(gen.generate_ms),
  };
}
