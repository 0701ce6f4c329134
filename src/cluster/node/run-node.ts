// `tso node`: one OS process hosting one actor (policy replica, generator or judge). It serves gRPC,
// registers in the cluster's membership KV with a TTL heartbeat, and deregisters on SIGINT/SIGTERM.
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { initBackend, type BackendName } from '../../backend/select-backend.js';
import { loadConfigFile } from '../../config/load-config.js';
import { makeJudge } from '../../judges/make-judge.js';
import { loadModel } from '../../model/checkpoint.js';
import { ByteTokenizer } from '../../model/tokenizer.js';
import {
  buckets,
  Membership,
  Role,
  ServingStatus,
  startServer,
  type MessageInput,
  type ServiceRegistration,
} from '../../transport/index.js';
import { logger } from '../../util/log.js';
import { serveMetrics } from '../../metrics/metrics-server.js';
import { NodeMetrics } from '../../metrics/node-metrics.js';
import { parseHostPort } from '../../ui/http-io.js';
import { exitWithParent } from '../launcher/exit-with-parent.js';
import { connectSetting, settingFromEnv, withUrl } from '../nats-setting.js';
import { coordinatorOnly, serverTls, tlsFromEnv } from '../grpc-tls.js';
import { judgeService } from './judge-service.js';
import { modelNodeService } from './model-node-service.js';
import { endpointNodeService } from './endpoint-node-service.js';
import { endpointVersion } from './endpoint-config.js';
import { checkNodeConfig, NodeConfigSchema, samplingOverrideOf, type NodeConfig } from './node-config.js';
import { PolicyReplica } from './policy-replica.js';

export interface NodeOverrides {
  nats?: string;
  listen?: string;
  advertise?: string;
  /** Serve Prometheus metrics (process, RPC latencies and errors) at HOST:PORT. */
  metrics?: string;
}

const ROLE = { policy: Role.POLICY, generator: Role.GENERATOR, judge: Role.JUDGE } as const;

// Every tso model is byte-level; a node in another language reports its own tokenizer here.
const tok = new ByteTokenizer().describe();
const TOKENIZER = {
  type: tok.type,
  vocabSize: tok.vocab_size,
  bosId: tok.bos,
  eosId: tok.eos,
  padId: tok.pad,
};

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

export async function runNode(
  configPath: string,
  o: NodeOverrides,
): Promise<{ stop: () => Promise<void>; address: string; metricsUrl?: string }> {
  // Started by `tso cluster`: exit (deregistered) when the launcher dies, however it dies.
  const parent = exitWithParent('node');
  const cfg: NodeConfig = { ...(await loadConfigFile(configPath, NodeConfigSchema)) };
  checkNodeConfig(cfg, configPath);
  // Credentials `tso cluster` generated for this node win over the config's; --nats moves the URL only.
  let nats = settingFromEnv() ?? cfg.nats;
  if (o.nats) nats = withUrl(nats, o.nats);
  if (o.listen) cfg.listen = o.listen;
  if (o.advertise) cfg.advertise = o.advertise;
  const log = logger('node', { node: cfg.id, role: cfg.role });
  // An endpoint generator runs no model here: no tfjs backend to load.
  const backend = cfg.endpoint ? { name: 'openai' } : await initBackend(cfg.backend as BackendName);
  const startedAtMs = Date.now();
  const nc = await connectSetting(nats, `tso-node-${cfg.id}`, { log });

  const services: ServiceRegistration[] = [];
  let weightVersion = 'initial';
  let modelName =
    cfg.model_name ?? (cfg.model ? basename(cfg.model) : (cfg.endpoint?.model ?? cfg.judge?.type ?? 'judge'));
  let paramCount = 0;
  let replica: PolicyReplica | undefined;
  const info = (): MessageInput<'tso.v1.NodeInfo'> & { nodeId: string; modelName: string; tier: number } => ({
    nodeId: cfg.id,
    role: ROLE[cfg.role],
    modelName,
    tier: cfg.role === 'generator' ? (cfg.tier ?? 0) : 0,
    backend: backend.name,
    paramCount,
    weightVersion: replica?.weightVersion ?? weightVersion,
    referenceVersion: replica?.referenceVersion ?? '',
    tokenizer: cfg.endpoint ? undefined : TOKENIZER, // an endpoint's tokenizer is its own
    address: advertised,
    replica: cfg.role === 'policy' ? cfg.replica : 0,
    startedAtMs,
    software: 'tso-ts/0.1.0',
  });
  if (cfg.role === 'judge') {
    services.push(judgeService(await makeJudge(cfg.judge!)));
  } else if (cfg.endpoint) {
    weightVersion = endpointVersion(cfg.endpoint);
    services.push(
      endpointNodeService({
        info,
        endpoint: cfg.endpoint,
        nc,
        generateBatch: cfg.generate_batch,
        sampling: samplingOverrideOf(cfg),
        log,
      }),
    );
  } else {
    const { model, manifest } = await loadModel(cfg.model!, cfg.role === 'policy');
    modelName = cfg.model_name ?? basename(cfg.model!);
    paramCount = model.paramCount;
    weightVersion = manifest.weight_version ?? `sha256:${manifest.sha256.slice(0, 12)}`;
    let reference;
    if (cfg.role === 'policy') {
      reference = (await loadModel(cfg.model!, false)).model;
      replica = new PolicyReplica(cfg.id, cfg.replica, model, reference, nc, log);
    }
    services.push(
      modelNodeService({
        info,
        model,
        reference,
        replica,
        nc,
        generateBatch: cfg.generate_batch,
        source: cfg.role === 'policy' ? 'policy' : 'generator',
        sampling: samplingOverrideOf(cfg),
        onWeights: (v) => void membership?.update({ weightVersion: v }),
      }),
    );
  }
  const { host, port } = splitHostPort(cfg.listen);
  const tls = tlsFromEnv() ?? cfg.grpc_tls;
  if (tls === undefined)
    log.warn('gRPC without TLS (no grpc_tls): anyone who reaches this port can load weights into this node');
  const metricsAt = o.metrics ?? cfg.metrics;
  const metrics = metricsAt
    ? new NodeMetrics({ node: cfg.id, role: cfg.role, model: modelName, backend: backend.name })
    : undefined;
  const server = await startServer({
    host,
    port,
    services: metrics ? services.map((s) => metrics.timed(s)) : services,
    log,
    tls: serverTls(tls),
    authorize: coordinatorOnly(tls),
  });
  const advertised = cfg.advertise ?? server.address;
  for (const s of services) server.health.setStatus(s.name, ServingStatus.SERVING);

  const membership: Membership | undefined = await Membership.open(nc, {
    bucket: buckets.nodes(cfg.cluster),
    ttlMs: cfg.heartbeat_ttl_ms,
  });
  await membership.register({
    nodeId: cfg.id,
    role: ROLE[cfg.role],
    modelName,
    tier: cfg.role === 'generator' ? (cfg.tier ?? 0) : 0,
    backend: backend.name,
    address: advertised,
    replica: cfg.role === 'policy' ? cfg.replica : 0,
    weightVersion: info().weightVersion,
    startedAtMs,
    pid: process.pid,
    hostname: hostname(),
  });
  log.info(
    { address: advertised, backend: backend.name, model: modelName, cluster: cfg.cluster },
    'node serving',
  );
  const metricsServer =
    metrics && metricsAt
      ? await serveMetrics(metrics.registry, parseHostPort(metricsAt).host, parseHostPort(metricsAt).port)
      : undefined;
  if (metricsServer) log.info({ metrics: metricsServer.url }, 'node metrics');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    await membership.deregister().catch(() => {});
    replica?.close();
    await server.shutdown(2000).catch(() => {});
    await metricsServer?.close();
    await nc.drain().catch(() => {});
  };
  parent.onGone(stop);
  return { stop, address: advertised, metricsUrl: metricsServer?.url };
}
