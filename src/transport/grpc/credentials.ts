// TLS for gRPC: insecure (plaintext) unless certificate paths are given. Server: cert+key, plus
// a CA to verify client certificates (mTLS when requireClientCert). Client: a CA to verify the
// server (system roots otherwise), plus cert+key for mTLS.
import { readFileSync } from 'node:fs';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';

export interface ServerTlsOptions {
  certFile: string;
  keyFile: string;
  /** CA bundle used to verify client certificates. */
  caFile?: string;
  /** Require and verify a client certificate (mTLS). Needs caFile. */
  requireClientCert?: boolean;
}

export interface ClientTlsOptions {
  /** CA bundle used to verify the server; the system roots when omitted. */
  caFile?: string;
  /** Client certificate and key, for mTLS. */
  certFile?: string;
  keyFile?: string;
}

export function serverCredentials(tls?: ServerTlsOptions): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.caFile ? readFileSync(tls.caFile) : null;
  if (tls.requireClientCert && !ca) throw new Error('tls.requireClientCert needs tls.caFile');
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    Boolean(tls.requireClientCert),
  );
}

export function channelCredentials(tls?: ClientTlsOptions): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile))
    throw new Error('tls.certFile and tls.keyFile go together');
  return credentials.createSsl(
    tls.caFile ? readFileSync(tls.caFile) : null,
    tls.keyFile ? readFileSync(tls.keyFile) : null,
    tls.certFile ? readFileSync(tls.certFile) : null,
  );
}
