// The contract from another language: Python grpcio stubs generated from proto/ alone call
// Describe and Generate on a TypeScript server. Skipped when no python3 with grpcio + grpc_tools
// is present (Debian: apt-get install python3-grpcio python3-grpc-tools).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { findPython, generatePythonStubs } from '../helpers/python-grpc.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineService, startServer, type RunningServer } from '../../src/transport/grpc/server.js';
import { ResponseSource, Role } from '../../src/transport/proto/enums.js';
import { protoDir } from '../../src/transport/proto/root.js';

const python = findPython();
let server: RunningServer;
let gen: string;

describe.skipIf(!python)('Python grpcio client against proto/', () => {
  beforeAll(async () => {
    gen = generatePythonStubs(python as string);
    server = await startServer({
      services: [
        defineService('tso.v1.ModelNode', {
          describe: () => ({
            nodeId: 'ts-node',
            role: Role.GENERATOR,
            modelName: 'demo',
            tier: 1,
            backend: 'wasm',
          }),
          async *generate(req) {
            for (const p of req.prompts) {
              for (let i = 0; i < req.n; i++) {
                yield {
                  promptId: p.id,
                  sampleIndex: i,
                  text: `out${i}`,
                  logprobSum: -1.25,
                  lineage: {
                    nodeId: 'ts-node',
                    seed: (req.sampling?.seed ?? 0) + i,
                    source: ResponseSource.GENERATOR,
                  },
                };
              }
            }
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await server?.shutdown();
    if (gen) rmSync(gen, { recursive: true, force: true });
  });

  it('calls Describe and Generate', async () => {
    // Asynchronous: the server runs in this process, so the event loop must stay free.
    const script = join(protoDir(), 'examples', 'python_client.py');
    const r = await promisify(execFile)(python as string, [script, server.address], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: gen, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION: 'python' },
      timeout: 60_000,
    });
    expect(r.stdout).toContain('node ts-node: role=ROLE_GENERATOR model=demo tier=1 backend=wasm');
    expect(r.stdout).toContain("p1#0: 'out0' logprob=-1.250 seed=42 node=ts-node");
    expect(r.stdout).toContain("p1#1: 'out1' logprob=-1.250 seed=43 node=ts-node");
  });
});
