// `tso coordinator`: discovers nodes in the membership KV, waits for the quorum, then drives the TSO
// loop over them (ClusterPort) and writes the run's record. `resume` continues from the last checkpoint.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../../backend/select-backend.js';
import { loadConfigFile, parseConfig } from '../../config/load-config.js';
import { runTso } from '../../tso/loop/run-loop.js';
import { checkNewRunDir, RunDir } from '../../tso/loop/run-dir.js';
import { optimizerOptionsOf } from '../../tso/loop/train-pairs.js';
import { writeReport, type NodeSummary, type Report } from '../../tso/loop/report.js';
import { modelContexts } from '../model-contexts.js';
import { humanSource, modelHooks, prepareData, progressPrinter } from '../../tso/loop/session.js';
import {
  buckets,
  enumName,
  Membership,
  Phase,
  Role,
  startServer,
  WeightStore,
  type MemberRecord,
} from '../../transport/index.js';
import type { Phase as PhaseT } from '../../transport/index.js';
import { logger } from '../../util/log.js';
import { exitWithParent } from '../launcher/exit-with-parent.js';
import { ClusterConfigSchema, type ClusterConfig } from '../cluster-config.js';
import { connectSetting, NATS_RUN_ENV, settingFromEnv, withUrl } from '../nats-setting.js';
import { clientTls, serverTls, tlsFromEnv } from '../grpc-tls.js';
import { ClusterPort } from './cluster-port.js';
import { NodeDirectory } from './node-directory.js';
import { RunLease } from './run-lease.js';
import { statusService, type StatusState } from './status-service.js';
import { CoordinatorUi, UI_ENV } from '../../ui/coordinator-ui.js';

export interface CoordinatorOptions {
  nats?: string;
  /** Continue the run in this directory from its last checkpoint. */
  resumeDir?: string;
  runDir?: string;
  /** A new run into a non-empty run dir deletes the old run first (otherwise it is refused). */
  overwrite?: boolean;
  /** The UI's HOST:PORT, or "off" (default: 127.0.0.1 on a free port; also TSO_UI). */
  ui?: string;
}

async function waitForQuorum(
  dir: NodeDirectory,
  cfg: ClusterConfig,
  log: ReturnType<typeof logger>,
  fence: () => void,
): Promise<void> {
  const q = cfg.quorum;
  const deadline = Date.now() + q.timeout_s * 1000;
  let lastLine = 0;
  for (;;) {
    fence(); // a coordinator whose lease passed to another stops waiting at once
    await dir.refresh();
    const have = {
      policy: dir.byRole(Role.POLICY).length,
      generators: dir.byRole(Role.GENERATOR).length,
      judges: dir.byRole(Role.JUDGE).length,
    };
    if (have.policy >= q.policy && have.generators >= q.generators && have.judges >= q.judges) {
      log.info(have, 'quorum reached');
      return;
    }
    const line = `waiting for quorum: policy ${have.policy}/${q.policy}, generators ${have.generators}/${q.generators}, judges ${have.judges}/${q.judges}`;
    if (Date.now() - lastLine > 3000) {
      process.stderr.write(`[coordinator] ${line}\n`);
      lastLine = Date.now();
    }
    if (Date.now() > deadline) throw new Error(`${line} — gave up after ${q.timeout_s} s (quorum.timeout_s)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function runCoordinator(configPath: string | undefined, o: CoordinatorOptions): Promise<Report> {
  const t0 = performance.now();
  // Started by `tso cluster`: a run whose launcher died stops (its last checkpoint stays resumable).
  exitWithParent('coordinator', 1);
  let cfg: ClusterConfig;
  if (o.resumeDir) {
    const saved = JSON.parse(await readFile(join(o.resumeDir, 'cluster-config.json'), 'utf8')) as unknown;
    cfg = parseConfig(saved, ClusterConfigSchema, join(o.resumeDir, 'cluster-config.json'));
  } else {
    if (!configPath) throw new Error('coordinator: --config is required');
    cfg = await loadConfigFile(configPath, ClusterConfigSchema);
  }
  // Not written back into cfg: the saved cluster-config.json must not pin a per-run server's URL.
  let nats = settingFromEnv() ?? cfg.nats ?? 'nats://127.0.0.1:4222';
  if (o.nats) nats = withUrl(nats, o.nats);
  const runCfg = cfg.run;
  const dir = new RunDir(o.resumeDir ?? o.runDir ?? cfg.run_dir ?? join('runs', runCfg.run_id));
  const log = logger('coordinator', { run: runCfg.run_id, cluster: cfg.cluster });
  await initBackend('auto');
  // Subjects and buckets are per run *instance*: a rerun or resume on a long-lived NATS never meets the
  // weight versions of an earlier attempt (which the store would refuse to overwrite).
  // `tso cluster` picks it (its NATS permissions are bound to it); a coordinator started alone
  // makes one up.
  const natsRun = process.env[NATS_RUN_ENV] || `${runCfg.run_id}-${Date.now().toString(36)}`;
  // A non-empty run dir without --overwrite is refused before anything else (no NATS needed for that);
  // the read-only check here, the claim itself after the lease.
  if (!o.resumeDir && !o.overwrite) await checkNewRunDir(dir.root, false);
  const nc = await connectSetting(nats, `tso-coordinator-${runCfg.run_id}`, { log });
  // The lease comes before the run dir: a second coordinator must not touch (or --overwrite) the
  // files of the run another one drives.
  let lease: RunLease;
  try {
    lease = await RunLease.acquire(nc, {
      runId: runCfg.run_id,
      runInstance: natsRun,
      ttlMs: cfg.lease_ttl_ms,
      log,
    });
  } catch (e) {
    await nc.drain().catch(() => {});
    throw e;
  }
  try {
    // One run per directory: a new run is refused in a non-empty one unless --overwrite (run-dir.ts).
    if (o.resumeDir) await dir.openForResume();
    else {
      await dir.startNew({ runId: runCfg.run_id, overwrite: o.overwrite });
      await dir.writeJson('cluster-config.json', cfg);
    }
  } catch (e) {
    await lease.release();
    await nc.drain().catch(() => {});
    throw e;
  }
  const membership = await Membership.open(nc, { bucket: buckets.nodes(cfg.cluster), ttlMs: 6000 });
  const tls = tlsFromEnv() ?? cfg.grpc_tls;
  const nodeDir = new NodeDirectory(membership, log, cfg.rpc_deadline_ms, clientTls(tls));
  const state: StatusState = {
    runId: runCfg.run_id,
    iteration: 0,
    total: runCfg.minibatches,
    phase: Phase.WAITING_FOR_QUORUM,
    step: 0,
    startedAtMs: Date.now(),
    message: 'waiting for quorum',
  };
  const server = await startServer({
    host: '127.0.0.1',
    port: cfg.status_port,
    services: [statusService(state, nodeDir)],
    tls: serverTls(tls),
    log,
  });
  log.info({ status: server.address }, 'coordinator status service');
  // Dashboard, labelling page and /metrics (src/ui/): a hook that never stops the run.
  const ui = await CoordinatorUi.start({
    setting: o.ui ?? process.env[UI_ENV],
    runId: runCfg.run_id,
    minibatches: runCfg.minibatches,
    runDir: dir.root,
    listMembers: () => membership.list(),
    lostNodes: () => nodeDir.lostNodes(),
    roleName: (m) => enumName(Role, m.role).toLowerCase(),
    log,
    print: (line) => process.stderr.write(`${line}\n`),
  });
  state.uiUrl = ui?.server.url;
  const seen = new Map<string, MemberRecord>();
  try {
    await waitForQuorum(nodeDir, cfg, log, () => lease.check());
    for (const m of nodeDir.live()) seen.set(m.nodeId, m);
    const store = await WeightStore.open(nc, {
      bucket: buckets.weights(natsRun),
      stateBucket: buckets.state(natsRun),
      runId: natsRun,
    });
    const generatorTiers = [...new Set(nodeDir.byRole(Role.GENERATOR).map((m) => m.tier))];
    const port = new ClusterPort({
      runId: natsRun,
      nc,
      dir: nodeDir,
      store,
      log,
      generatorTiers,
      collectTimeoutMs: cfg.rpc_deadline_ms,
      hasJudge: nodeDir.byRole(Role.JUDGE).length > 0,
      judgeNodes: cfg.judge_nodes,
      gradShards: runCfg.grad_shards,
      epoch: lease.epoch,
      fence: () => lease.check(),
    });
    const adamw = optimizerOptionsOf(runCfg);
    // A fresh run starts every replica from replica 0's weights; a resumed one restores the checkpoint.
    if (o.resumeDir) port.configure(adamw);
    else await port.start(adamw);
    const data = await prepareData(runCfg, dir, await modelContexts(cfg.policy_init, cfg.nodes, false));
    const hooks = await modelHooks(runCfg, data, cfg.policy_init, port.judge());
    const human = humanSource(runCfg, dir, data.task);
    ui?.attachHuman(human.label, human.web);
    const printer = progressPrinter();
    const phases: Record<string, PhaseT> = {
      generate: Phase.GENERATING,
      pairs: Phase.CORRECTING,
      reference: Phase.TRAINING,
      train: Phase.TRAINING,
      refresh: Phase.REFRESHING,
      evaluate: Phase.EVALUATING,
      checkpoint: Phase.CHECKPOINTING,
    };
    const result = await runTso(
      port,
      runCfg,
      data,
      dir,
      {
        ...hooks,
        human: human.human,
        onProgress: (e) => {
          state.iteration = e.minibatch;
          state.phase = phases[e.phase] ?? Phase.UNSPECIFIED;
          if (e.phase === 'train') state.step = e.step.step;
          state.message = e.phase;
          for (const m of nodeDir.live()) seen.set(m.nodeId, m);
          printer(e);
          ui?.onProgress(e);
        },
      },
      { resume: o.resumeDir !== undefined },
    );
    hooks.dispose();
    state.phase = Phase.DONE;
    ui?.finish('done', 'finished');
    const lost = nodeDir.lostNodes();
    const nodes: NodeSummary[] = [...seen.values()].map((m) => ({
      id: m.nodeId,
      role: enumName(Role, m.role).toLowerCase(),
      model: m.modelName,
      tier: m.tier,
      backend: m.backend,
      lost: lost.has(m.nodeId),
      ...(lost.has(m.nodeId) ? { lost_reason: lost.get(m.nodeId) } : {}),
    }));
    return await writeReport(dir, {
      cfg: runCfg,
      result,
      nodes,
      wall_s: (performance.now() - t0) / 1000,
      human_source: human.label,
      task: data.summary,
      resumed: o.resumeDir !== undefined,
    });
  } catch (e) {
    state.phase = Phase.FAILED;
    state.message = (e as Error).message;
    ui?.finish('failed', state.message);
    throw e;
  } finally {
    await ui?.close();
    nodeDir.close();
    await lease.release();
    await server.shutdown(500).catch(() => {});
    await nc.drain().catch(() => {});
  }
}
