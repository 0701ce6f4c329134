// `tso cluster`: a whole cluster on one machine. Uses the configured NATS or starts one, spawns every
// node as its own OS process, then the coordinator; interleaves their logs; stops everything at the end
// or on Ctrl-C. The exit code is the coordinator's.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfig } from '../../config/load-config.js';
import { probeNats } from '../../transport/index.js';
import { ClusterConfigSchema, type ClusterConfig } from '../cluster-config.js';
import { pipeWithPrefix } from './child-logs.js';
import { startNats, type NatsProcess } from './nats-process.js';

const TSO_BIN = fileURLToPath(new URL('../../../bin/tso.js', import.meta.url));

export interface ClusterOptions {
  configPath?: string;
  resumeDir?: string;
  runDir?: string;
  /** Extra environment for every child (tests). */
  env?: Record<string, string>;
  out?: (line: string) => void;
  /** Called once every node process is spawned (tests use it to kill one). */
  onSpawned?: (children: Map<string, ChildProcess>, natsUrl: string) => void;
}

export async function runCluster(o: ClusterOptions): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  let cfg: ClusterConfig;
  let configFile: string;
  if (o.resumeDir) {
    configFile = join(o.resumeDir, 'cluster-config.json');
    cfg = parseConfig(
      JSON.parse(await readFile(configFile, 'utf8')) as unknown,
      ClusterConfigSchema,
      configFile,
    );
  } else {
    if (!o.configPath) throw new Error('cluster: --config is required');
    configFile = o.configPath;
    cfg = await loadConfigFile(o.configPath, ClusterConfigSchema);
  }
  let nats: NatsProcess | undefined;
  let url = cfg.nats;
  if (await probeNats(url, 800)) out(`[cluster] using NATS at ${url}`);
  else {
    out(`[cluster] no NATS at ${url}: starting one`);
    nats = await startNats((l) => out(`[cluster] ${l}`));
    url = nats.url;
  }
  const children = new Map<string, ChildProcess>();
  const env = { ...process.env, ...o.env };
  const spawnTso = (name: string, args: string[]) => {
    const c = spawn(process.execPath, [TSO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    pipeWithPrefix(c.stdout, `[${name}]`, out);
    pipeWithPrefix(c.stderr, `[${name}]`, out);
    children.set(name, c);
    // A node that dies is the coordinator's business (re-route, re-assign, wait for quorum), but say so.
    c.once('exit', (code, sig) => {
      if (name !== 'coordinator' && !stopping && (code !== 0 || sig))
        out(`[cluster] ${name} exited (${sig ?? `code ${code}`})`);
    });
    return c;
  };
  let interrupted = false;
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    const alive = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of alive) c.kill('SIGTERM');
    await Promise.race([
      Promise.all(
        alive.map(
          (c) =>
            new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))),
        ),
      ),
      new Promise((r) => setTimeout(r, 8000)),
    ]);
    for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await nats?.stop();
  };
  const onSignal = () => {
    interrupted = true;
    out('[cluster] interrupted: stopping every process');
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const n of cfg.nodes)
      spawnTso(basename(n).replace(/\.ya?ml$/, ''), ['node', '--config', n, '--nats', url]);
    o.onSpawned?.(children, url);
    const coordArgs = o.resumeDir
      ? ['resume', o.resumeDir, '--coordinator-only', '--nats', url]
      : ['coordinator', '--config', configFile, '--nats', url, ...(o.runDir ? ['--run-dir', o.runDir] : [])];
    const coord = spawnTso('coordinator', coordArgs);
    const code = await new Promise<number>((resolve) =>
      coord.once('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))),
    );
    out(`[cluster] coordinator exited with code ${code}`);
    return interrupted ? 130 : code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await stopAll();
  }
}
