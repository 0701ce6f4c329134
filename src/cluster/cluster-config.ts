// config/<cluster>.yaml: which node processes make up a local cluster, the quorum the coordinator
// waits for, and the TSO run it drives.
import { z } from 'zod';
import { RunConfigSchema } from '../tso/loop/run-config.js';
import { GrpcTlsSchema } from './grpc-tls.js';
import { ServeEntrySchema } from './launcher/cluster-serve.js';
import { NatsSettingSchema } from './nats-setting.js';

const Token = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'use 1-128 of [A-Za-z0-9_-]');

export const ClusterConfigSchema = z.strictObject({
  cluster: Token.default('local'),
  /**
   * An external NATS: { url, creds | nkey_seed_file | user + password_env | token_env, tls }, or a
   * plain URL for an explicitly open bus. Absent (the default): `tso cluster` starts its own
   * nats-server with per-run users and per-role permissions (launcher/nats-auth.ts).
   */
  nats: NatsSettingSchema.optional(),
  /**
   * The coordinator's gRPC certificates { ca, cert, key }, or `plaintext`. Absent: `tso cluster`
   * makes a run CA and a certificate per process (mTLS), except on an open bus (`nats:` a plain URL).
   */
  grpc_tls: GrpcTlsSchema.optional(),
  /** Models `tso cluster` serves over HTTP for endpoint generators (launcher/cluster-serve.ts). */
  serve: z.array(ServeEntrySchema).default([]),
  /** Node configs (paths relative to the repository root or absolute), one OS process each. */
  nodes: z.array(z.string()).default([]),
  /** Judge node ids whose verdicts count, preferred first; default: any live judge (lowest id first). */
  judge_nodes: z.array(Token).min(1).optional(),
  /** The initial policy (evaluation baseline and the exported model's config). */
  policy_init: z.string(),
  /** Where the run writes its record; default runs/<run_id>. */
  run_dir: z.string().optional(),
  quorum: z
    .strictObject({
      policy: z.number().int().min(1).default(1),
      generators: z.number().int().min(0).default(0),
      judges: z.number().int().min(0).default(0),
      timeout_s: z.number().min(1).default(300),
    })
    .default({ policy: 1, generators: 0, judges: 0, timeout_s: 300 }),
  /** Deadline of every RPC and NATS collection, in milliseconds. */
  rpc_deadline_ms: z.number().int().min(100).default(120_000),
  /**
   * The coordinator's lease on the run (README "Security"): renewed every third of this; a coordinator
   * silent this long loses it, and a second coordinator of the run waits up to this long to tell a
   * crashed holder from a live one.
   */
  lease_ttl_ms: z.number().int().min(1000).max(600_000).default(15_000),
  /** Port of the coordinator's Status service (0 = any free port). */
  status_port: z.number().int().min(0).max(65535).default(0),
  run: RunConfigSchema,
});

export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;
