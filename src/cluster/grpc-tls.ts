// The `grpc_tls:` key of node and cluster configs: certificates for the gRPC control plane. A node
// serves with its cert, verifies client certificates against `ca` (mTLS), and lets only the
// `coordinator` identity (certificate CN) call the state-changing RPCs. The coordinator connects with
// its own cert and verifies the nodes' against `ca`. `plaintext` must be said explicitly.
import { z } from 'zod';
import { jsonFromEnv } from '../config/env-json.js';
import type { ClientTlsOptions, ServerTlsOptions } from '../transport/index.js';

export const GrpcTlsFilesSchema = z.strictObject({
  /** CA that signed every certificate of the cluster. */
  ca: z.string().min(1),
  /** This process's certificate and key (PEM). */
  cert: z.string().min(1),
  key: z.string().min(1),
  /** Nodes: certificate CN allowed to call LoadWeights, Restore, ComputeGradients, Snapshot. */
  coordinator: z.string().min(1).default('coordinator'),
});

export const GrpcTlsSchema = z.union([z.literal('plaintext'), GrpcTlsFilesSchema]);

export type GrpcTls = z.infer<typeof GrpcTlsSchema>;
export type GrpcTlsFiles = z.infer<typeof GrpcTlsFilesSchema>;

/** Environment variable through which `tso cluster` hands each child its certificates (JSON). */
export const GRPC_TLS_ENV = 'TSO_GRPC_TLS';

/** RPCs that change a node's state: only the coordinator may call them. */
export const STATE_CHANGING_METHODS: ReadonlySet<string> = new Set([
  '/tso.v1.ModelNode/LoadWeights',
  '/tso.v1.ModelNode/Restore',
  '/tso.v1.ModelNode/ComputeGradients',
  '/tso.v1.ModelNode/Snapshot',
]);

export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): GrpcTls | undefined {
  return jsonFromEnv(env, GRPC_TLS_ENV, GrpcTlsSchema);
}

export function serverTls(t: GrpcTls | undefined): ServerTlsOptions | undefined {
  if (t === undefined || t === 'plaintext') return undefined;
  return { certFile: t.cert, keyFile: t.key, caFile: t.ca, requireClientCert: true };
}

export function clientTls(t: GrpcTls | undefined): ClientTlsOptions | undefined {
  if (t === undefined || t === 'plaintext') return undefined;
  return { caFile: t.ca, certFile: t.cert, keyFile: t.key };
}

/** The server's authorization: state-changing RPCs only for the coordinator's certificate. */
export function coordinatorOnly(
  t: GrpcTls | undefined,
): ((method: string, peerCn: string | undefined) => string | undefined) | undefined {
  if (t === undefined || t === 'plaintext') return undefined;
  const allowed = t.coordinator;
  return (method, peerCn) =>
    STATE_CHANGING_METHODS.has(method) && peerCn !== allowed
      ? `${method} is reserved for the coordinator (certificate CN "${allowed}"); the caller's is "${peerCn ?? '(none)'}"`
      : undefined;
}
