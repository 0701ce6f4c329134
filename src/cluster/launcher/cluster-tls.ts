// gRPC certificates of a `tso cluster` run. Unless the cluster config says otherwise (`grpc_tls:`
// its own certificates, or `plaintext`), or the run is on an explicitly open bus (`nats:` a plain
// URL), the launcher makes a run CA and a certificate per process (run-certs.ts) and hands each
// child its own through TSO_GRPC_TLS: nodes serve mTLS and take state-changing RPCs only from the
// coordinator's certificate.
import type { ClusterConfig } from '../cluster-config.js';
import { GRPC_TLS_ENV, type GrpcTls } from '../grpc-tls.js';
import type { NodePrincipal } from './nats-auth.js';
import { makeRunCerts, type RunCerts } from './run-certs.js';

export interface ClusterTls {
  node(configPath: string): Record<string, string>;
  coordinator(): Record<string, string>;
  /** Deletes the generated certificates (no-op when none were made). */
  remove(): void;
  /** The generated certificates' dir, if any (the nats watchdog deletes it too). */
  dir?: string;
}

export const COORDINATOR_CN = 'coordinator';

/** CN of a node's certificate: prefixed, so no node id can pass for the coordinator. */
export const nodeCn = (id: string): string => `node-${id}`;

const CLEARED = { [GRPC_TLS_ENV]: '' };

export async function clusterTls(
  cfg: ClusterConfig,
  principals: Map<string, NodePrincipal>,
  out: (l: string) => void,
): Promise<ClusterTls> {
  if (cfg.grpc_tls !== undefined || typeof cfg.nats === 'string') {
    const mode =
      cfg.grpc_tls === undefined || cfg.grpc_tls === 'plaintext'
        ? 'plaintext'
        : 'the configured certificates';
    out(`[cluster] gRPC: ${mode}`);
    return { node: () => CLEARED, coordinator: () => CLEARED, remove: () => {} };
  }
  const ids = [...principals.values()].map((p) => nodeCn(p.id));
  const certs: RunCerts = await makeRunCerts([COORDINATOR_CN, ...ids]);
  out(`[cluster] gRPC: mTLS with a run CA (${ids.length + 1} certificates in ${certs.dir})`);
  const envOf = (cn: string): Record<string, string> => {
    const tls: GrpcTls = { ...certs.files(cn), coordinator: COORDINATOR_CN };
    return { [GRPC_TLS_ENV]: JSON.stringify(tls) };
  };
  return {
    node: (path) => {
      const p = principals.get(path);
      if (!p) throw new Error(`${path}: not a node of the cluster config`);
      return envOf(nodeCn(p.id));
    },
    coordinator: () => envOf(COORDINATOR_CN),
    remove: () => certs.remove(),
    dir: certs.dir,
  };
}
