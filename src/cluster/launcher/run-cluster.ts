// `tso cluster`: a whole cluster on one machine. Starts its own NATS with per-run credentials (or uses
// the one the config names, cluster-nats.ts), spawns every
// node as its own OS process, then the coordinator; interleaves their logs; stops everything at the end
// or on Ctrl-C. The exit code is the coordinator's.
// Process hygiene: every child leads its own process group (a terminal's Ctrl-C reaches only the
// launcher, which stops them in order) and has a pipe on stdin with TSO_EXIT_WITH_PARENT=1, so it exits
// within seconds when the launcher dies, even by SIGKILL (exit-with-parent.ts; nats-server through its
// watchdog, nats-watchdog.ts, which also deletes the store dir).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfig } from '../../config/load-config.js';
import { readCheckpoint } from '../../tso/loop/checkpoint-io.js';
import { checkNewRunDir, RunDir } from '../../tso/loop/run-dir.js';
import { ClusterConfigSchema, type ClusterConfig } from '../cluster-config.js';
import { checkTaskFits } from '../model-contexts.js';
import { pipeWithPrefix } from './child-logs.js';
import { EXIT_WITH_PARENT_ENV } from './exit-with-parent.js';
import { childNodeName, clusterNats, loadPrincipals, type ClusterNats } from './cluster-nats.js';
import { clusterTls } from './cluster-tls.js';
import { pointNodesAtServed, SERVE_KEY_ENV, startServed } from './cluster-serve.js';
import type { NatsProcess } from './nats-process.js';
import { exited, killGroup, waitExit } from './process-group.js';

const TSO_BIN = fileURLToPath(new URL('../../../bin/tso.js', import.meta.url));

export interface ClusterOptions {
  configPath?: string;
  resumeDir?: string;
  runDir?: string;
  /** A new run into a non-empty run dir deletes the old run first (otherwise it is refused). */
  overwrite?: boolean;
  /** Extra environment for every child (tests). */
  env?: Record<string, string>;
  out?: (line: string) => void;
  /** Called once every node process is spawned (tests use it to kill one). */
  onSpawned?: (children: Map<string, ChildProcess>, natsUrl: string) => void;
}

/** Where a new run of `cfg` writes its record: --run-dir, else the config's run_dir, else runs/<run_id>. */
export function runDirOf(cfg: ClusterConfig, override?: string): string {
  return override ?? cfg.run_dir ?? join('runs', cfg.run.run_id);
}

export async function runCluster(o: ClusterOptions): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  let cfg: ClusterConfig;
  let configFile: string;
  if (o.resumeDir) {
    configFile = join(o.resumeDir, 'cluster-config.json');
    const text = await readFile(configFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      throw new Error(`${o.resumeDir} has no cluster-config.json: not the run dir of a tso cluster run`, {
        cause: e,
      });
    });
    cfg = parseConfig(JSON.parse(text) as unknown, ClusterConfigSchema, configFile);
  } else {
    if (!o.configPath) throw new Error('cluster: --config is required');
    configFile = o.configPath;
    cfg = await loadConfigFile(o.configPath, ClusterConfigSchema);
  }
  // Refuse before starting anything (the coordinator checks again, and owns the clearing): a new run
  // must not append to an old one, a resume needs an intact checkpoint of this run.
  const runDir = o.resumeDir ?? runDirOf(cfg, o.runDir);
  if (o.resumeDir) await readCheckpoint(new RunDir(o.resumeDir));
  else await checkNewRunDir(runDir, o.overwrite ?? false);
  await checkTaskFits(cfg);
  const principals = await loadPrincipals(cfg);
  const tls = await clusterTls(cfg, principals, out);
  let bus: ClusterNats;
  try {
    bus = await clusterNats(cfg, principals, out, tls.dir ? [tls.dir] : []);
  } catch (e) {
    tls.remove();
    throw e;
  }
  const nats: NatsProcess | undefined = bus.server;
  const url = bus.url;
  const children = new Map<string, ChildProcess>();
  const env = { ...process.env, ...o.env, [EXIT_WITH_PARENT_ENV]: '1' };
  const spawnTso = (name: string, args: string[], own: Record<string, string>) => {
    const c = spawn(process.execPath, [TSO_BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...env, ...own },
      detached: true,
    });
    c.stdin?.on('error', () => {}); // EPIPE once the child is gone: its stdin only signals our life
    pipeWithPrefix(c.stdout, `[${name}]`, out);
    pipeWithPrefix(c.stderr, `[${name}]`, out);
    children.set(name, c);
    // Detached: its pid is its process group, which the nats watchdog kills if we die and it lingers.
    if (c.pid !== undefined) nats?.adopt(c.pid);
    // A node that dies is the coordinator's business (re-route, re-assign, wait for quorum), but say so.
    c.once('exit', (code, sig) => {
      if (name !== 'coordinator' && !stopping && (code !== 0 || sig))
        out(`[cluster] ${name} exited (${sig ?? `code ${code}`})`);
    });
    return c;
  };
  let interrupted = false;
  let stopping = false;
  const cleanups: (() => void)[] = [];
  const stopAll = async () => {
    stopping = true;
    const alive = [...children.values()].filter((c) => !exited(c));
    for (const c of alive) c.kill('SIGTERM');
    await Promise.all(alive.map((c) => waitExit(c, 8000)));
    for (const c of alive) if (!exited(c)) killGroup(c, 'SIGKILL');
    await Promise.all(alive.map((c) => waitExit(c, 2000)));
    await nats?.stop();
    tls.remove();
    for (const c of cleanups) c();
  };
  // Without its NATS the run cannot go on: stop it now rather than wait out every RPC deadline.
  void nats?.died.then((why) => {
    if (stopping) return;
    out(`[cluster] ${why}: stopping the cluster`);
    for (const c of children.values()) if (!exited(c)) c.kill('SIGTERM');
  });
  const onSignal = () => {
    interrupted = true;
    out('[cluster] interrupted: stopping every process');
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  try {
    // Served models first: the endpoint nodes that use them need their URLs (cluster-serve.ts).
    const served = await startServed(cfg.serve, spawnTso);
    const pointed = pointNodesAtServed(cfg.nodes, served);
    cleanups.push(pointed.cleanup);
    for (const n of cfg.nodes) {
      const b = bus.node(n);
      const p = pointed.files.get(n) ?? { file: n };
      const key: Record<string, string> = p.key === undefined ? {} : { [SERVE_KEY_ENV]: p.key };
      spawnTso(childNodeName(n), ['node', '--config', p.file, ...b.args], {
        ...b.env,
        ...tls.node(n),
        ...key,
      });
    }
    o.onSpawned?.(children, url);
    const c = bus.coordinator();
    const coordArgs = o.resumeDir
      ? ['resume', o.resumeDir, '--coordinator-only', ...c.args]
      : [
          ...['coordinator', '--config', configFile, ...c.args, '--run-dir', runDir],
          ...(o.overwrite ? ['--overwrite'] : []),
        ];
    const coord = spawnTso('coordinator', coordArgs, { ...c.env, ...tls.coordinator() });
    const code = await new Promise<number>((resolve) =>
      coord.once('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))),
    );
    out(`[cluster] coordinator exited with code ${code}`);
    return interrupted ? 130 : code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (!interrupted) await stopAll();
  }
}
