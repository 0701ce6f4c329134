// `serve:` of a cluster config: `tso serve` processes the launcher starts before the nodes, each on a
// free loopback port with an API key made for this run. A generator node with `backend: openai` whose
// `endpoint.model` names one of them is pointed at it: the launcher gives that node a copy of its config
// with the served URL as `endpoint.base_url` and the key in an environment variable, so a mixed matrix
// (tfjs nodes next to endpoint nodes) runs from one config without knowing ports in advance.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';

export const ServeEntrySchema = z.strictObject({
  /** The model directory to serve. */
  model: z.string().min(1),
  /** The model id it is served under; an endpoint node's `endpoint.model` names it. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'use 1-128 of [A-Za-z0-9_.-]'),
});
export type ServeEntry = z.infer<typeof ServeEntrySchema>;

/** The environment variable that carries a served model's key to `tso serve` and to its nodes. */
export const SERVE_KEY_ENV = 'TSO_SERVE_API_KEY';

export interface Served {
  name: string;
  url: string;
  key: string;
}

/** A fresh key per served model and run: never written to a file, passed by environment only. */
export function newServeKey(): string {
  return randomBytes(24).toString('hex');
}

/** The args of `tso serve` for one entry (any free loopback port; the key from SERVE_KEY_ENV). */
export function serveArgs(e: ServeEntry): string[] {
  return [
    'serve',
    '--model',
    e.model,
    '--model-name',
    e.name,
    '--listen',
    '127.0.0.1:0',
    '--api-key-env',
    SERVE_KEY_ENV,
  ];
}

/** The URL in `tso serve`'s "serving NAME at URL" line, once it has been printed. */
export function servedUrl(line: string): string | undefined {
  return /serving \S+ at (\S+)/.exec(line)?.[1];
}

interface EndpointNode {
  role?: unknown;
  backend?: unknown;
  endpoint?: { model?: unknown; base_url?: unknown; api_key_env?: unknown };
}

/**
 * Rewrites the node configs that use a served model: returns, per original node file, the file to start
 * it with and the key to hand it. Other nodes keep their own file.
 */
export function pointNodesAtServed(
  nodeFiles: readonly string[],
  served: readonly Served[],
): { files: Map<string, { file: string; key?: string }>; cleanup(): void } {
  const files = new Map<string, { file: string; key?: string }>();
  let dir: string | undefined;
  for (const f of nodeFiles) {
    const doc = parse(readFileSync(f, 'utf8')) as EndpointNode & Record<string, unknown>;
    const s = served.find((x) => doc.backend === 'openai' && doc.endpoint?.model === x.name);
    if (!s || !doc.endpoint) {
      files.set(f, { file: f });
      continue;
    }
    dir ??= mkdtempSync(join(tmpdir(), 'tso-served-nodes-'));
    const copy = join(dir, basename(f));
    writeFileSync(
      copy,
      stringify({ ...doc, endpoint: { ...doc.endpoint, base_url: s.url, api_key_env: SERVE_KEY_ENV } }),
    );
    files.set(f, { file: copy, key: s.key });
  }
  return { files, cleanup: () => dir && rmSync(dir, { recursive: true, force: true }) };
}

/** Starts every entry (through `spawn`, so the launcher owns and stops them) and waits for its URL. */
export async function startServed(
  entries: readonly ServeEntry[],
  spawn: (name: string, args: string[], env: Record<string, string>) => ChildProcess,
  timeoutMs = 120_000,
): Promise<Served[]> {
  return Promise.all(
    entries.map(async (e) => {
      const key = newServeKey();
      const c = spawn(`serve-${e.name}`, serveArgs(e), { [SERVE_KEY_ENV]: key });
      const url = await new Promise<string>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(
          () => reject(new Error(`serve ${e.name}: not serving after ${timeoutMs} ms`)),
          timeoutMs,
        );
        c.stdout?.on('data', (d: Buffer) => {
          seen += d.toString('utf8');
          const url = servedUrl(seen);
          if (url) {
            clearTimeout(timer);
            resolve(url);
          }
        });
        c.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`serve ${e.name} (${e.model}) exited with code ${code} before serving`));
        });
      });
      return { name: e.name, url, key };
    }),
  );
}
