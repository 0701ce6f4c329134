// Python grpcio stubs generated from proto/ alone: how the tests prove a client in another language
// can talk to tso. Needs python3 with grpcio and grpc_tools (Debian: python3-grpcio python3-grpc-tools).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { protoDir } from '../../src/transport/index.js';

/** A python with grpcio and grpc_tools, or undefined (the tests then skip, saying why). */
export function findPython(): string | undefined {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** Generates the ModelNode stubs into a new temp dir; returns it (use it as PYTHONPATH) or throws. */
export function generatePythonStubs(python: string): string {
  const out = mkdtempSync(join(tmpdir(), 'tso-pygen-'));
  const dir = protoDir();
  const protoc = spawnSync(
    python,
    [
      '-m',
      'grpc_tools.protoc',
      '-I',
      dir,
      `--python_out=${out}`,
      `--grpc_python_out=${out}`,
      ...['common', 'model_node'].map((f) => join(dir, 'tso', 'v1', `${f}.proto`)),
    ],
    { encoding: 'utf8' },
  );
  if (protoc.status !== 0) throw new Error(`grpc_tools.protoc failed: ${protoc.stderr}`);
  return out;
}
