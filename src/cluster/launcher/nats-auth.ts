// Per-run NATS users and per-role subject permissions for the nats-server `tso cluster` starts.
// Every principal (the coordinator, each node) gets its own user and a random password, and may
// publish and subscribe only where its role needs to (DESIGN.md "Planes"):
//  - coordinator: the run's updates, reference announcements and run state, the weight store, its
//    lease key (tso_<run_id>_lease, key coordinator), and the JetStream API (it creates the run's
//    buckets); it reads every data-plane subject of its run.
//  - policy replica: gradient shards, and checksums, acks and responses on its own per-node subjects
//    only (one replica cannot speak for another); it reads updates, announcements and the weight
//    store, and writes its snapshots into the weight store (not the run state).
//  - generator: its own response subject only.  judge: nothing on the data plane.
//  - every node: its own membership key, and the membership bucket's metadata.
// Replies go to per-user inbox prefixes, so no principal can read another's replies (which carry
// weight chunks from the object store).
import { randomBytes } from 'node:crypto';
import { buckets, LEASE_KEY, subjects, token } from '../../transport/index.js';
import type { NatsSetting } from '../nats-setting.js';

export type NodeRole = 'policy' | 'generator' | 'judge';

export interface NodePrincipal {
  id: string;
  role: NodeRole;
  replica: number;
}

export interface NatsUser {
  user: string;
  password: string;
  inboxPrefix: string;
  publish: string[];
  subscribe: string[];
}

export interface NatsAuthPlan {
  coordinator: NatsUser;
  nodes: Map<string, NatsUser>;
}

/** JetStream API subjects a client needs to read one stream (info, direct/msg get, ordered consumers). */
export function streamReader(stream: string): string[] {
  const api = '$JS.API';
  return [
    // An ordered consumer looks its stream up by subject first (the answer names streams only).
    `${api}.STREAM.NAMES`,
    `${api}.STREAM.INFO.${stream}`,
    `${api}.STREAM.MSG.GET.${stream}`,
    `${api}.DIRECT.GET.${stream}`,
    `${api}.DIRECT.GET.${stream}.>`,
    `${api}.CONSUMER.CREATE.${stream}`,
    `${api}.CONSUMER.CREATE.${stream}.>`,
    `${api}.CONSUMER.INFO.${stream}.>`,
    `${api}.CONSUMER.DELETE.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

const password = (): string => randomBytes(24).toString('base64url');

function user(name: string, publish: string[], subscribe: string[]): NatsUser {
  const inboxPrefix = `_INBOX_${name}`;
  return {
    user: name,
    password: password(),
    inboxPrefix,
    publish,
    subscribe: [...subscribe, `${inboxPrefix}.>`],
  };
}

/** Subjects one node may publish and subscribe to; `run` is the run instance (coordinator's natsRun). */
export function nodePermissions(
  cluster: string,
  run: string,
  n: NodePrincipal,
): { publish: string[]; subscribe: string[] } {
  const members = buckets.nodes(cluster);
  const kvStream = `KV_${members}`;
  const id = token('node id', n.id);
  const r = token('run', run);
  const publish = [
    '$JS.API.INFO',
    `$JS.API.STREAM.INFO.${kvStream}`,
    // The first node up creates the membership bucket (nodes start before the coordinator).
    `$JS.API.STREAM.CREATE.${kvStream}`,
    `$JS.API.STREAM.MSG.GET.${kvStream}`,
    `$JS.API.DIRECT.GET.${kvStream}.$KV.${members}.${id}`,
    `$KV.${members}.${id}`,
  ];
  const subscribe: string[] = [];
  if (n.role !== 'judge') publish.push(`tso.${r}.*.responses.${id}`);
  if (n.role === 'policy') {
    publish.push(
      // Any shard, not only its own index: when a replica dies the coordinator hands its shard to a
      // live one, which publishes it under that shard's subject. A forged shard is still useless: the
      // coordinator takes only the message whose checksum matches the gRPC answer of the replica it asked.
      `tso.${r}.grad.*.*`,
      `tso.${r}.checksum.*.${id}`,
      `tso.${r}.ack.*.${id}`,
      ...streamReader(`OBJ_${buckets.weights(run)}`),
      // Snapshot puts the replica's weights and optimizer state into the store; a put purges the
      // earlier chunks of its object, and JetStream only has a stream-wide purge API.
      `$O.${buckets.weights(run)}.>`,
      `$JS.API.STREAM.PURGE.OBJ_${buckets.weights(run)}`,
      ...streamReader(`KV_${buckets.state(run)}`),
    );
    subscribe.push(subjects.updateAll(run), subjects.ref(run));
  }
  return { publish, subscribe };
}

/** `run` is the run instance, `runId` the config's run id (the lease is per run id). */
export function coordinatorPermissions(
  run: string,
  runId: string,
): { publish: string[]; subscribe: string[] } {
  return {
    publish: [
      '$JS.API.>',
      '$JS.FC.>',
      `$O.${buckets.weights(run)}.>`,
      `$KV.${buckets.state(run)}.>`,
      `$KV.${buckets.lease(runId)}.${LEASE_KEY}`,
      subjects.updateAll(run),
      subjects.ref(run),
    ],
    subscribe: [subjects.all(run)],
  };
}

/**
 * A user per principal with a fresh random password (valid for this run only). `run` is the run
 * instance (subject token), `runId` the config's run id.
 */
export function planNatsAuth(
  cluster: string,
  run: string,
  nodes: NodePrincipal[],
  runId: string,
): NatsAuthPlan {
  const c = coordinatorPermissions(run, runId);
  const plan: NatsAuthPlan = { coordinator: user('coordinator', c.publish, c.subscribe), nodes: new Map() };
  for (const n of nodes) {
    if (plan.nodes.has(n.id)) throw new Error(`node id ${n.id} appears twice in the cluster config's nodes`);
    const p = nodePermissions(cluster, run, n);
    plan.nodes.set(n.id, user(`node-${n.id}`, p.publish, p.subscribe));
  }
  return plan;
}

export interface ServerLimits {
  maxMemoryBytes: number;
  maxStoreBytes: number;
  maxPayloadBytes: number;
  maxConnections: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxMemoryBytes: 256 * 1024 * 1024,
  maxStoreBytes: 8 * 1024 * 1024 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxConnections: 512,
};

/** nats-server config (JSON is valid NATS config syntax). Contains the passwords: write it 0600. */
export function serverConfig(
  plan: NatsAuthPlan,
  o: { port: number; storeDir: string; limits?: ServerLimits },
): string {
  const l = o.limits ?? DEFAULT_SERVER_LIMITS;
  const users = [plan.coordinator, ...plan.nodes.values()].map((u) => ({
    user: u.user,
    password: u.password,
    permissions: { publish: { allow: u.publish }, subscribe: { allow: u.subscribe } },
  }));
  return JSON.stringify(
    {
      host: '127.0.0.1',
      port: o.port,
      max_payload: l.maxPayloadBytes,
      max_connections: l.maxConnections,
      jetstream: {
        store_dir: o.storeDir,
        max_memory_store: l.maxMemoryBytes,
        max_file_store: l.maxStoreBytes,
      },
      authorization: { users },
    },
    null,
    2,
  );
}

/** The setting a child connects with (its password travels in NATS_PASSWORD_ENV, never in a file). */
export function settingFor(u: NatsUser, url: string, passwordEnv: string): NatsSetting {
  return { url, user: u.user, password_env: passwordEnv, inbox_prefix: u.inboxPrefix };
}
