// TLS for gRPC: insecure (plaintext) unless certificate paths are given. Server: cert+key, plus
// a CA to verify client certificates (mTLS when requireClientCert). Client: a CA to verify the
// server (system roots otherwise), plus cert+key for mTLS.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
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

/** The SNI name sent to a server addressed by IP (TLS forbids an IP there; Node warns, DEP0123). */
export const IP_SNI_NAME = 'tso-node';

/**
 * Client credentials. For a server addressed by an IP (`host`), the certificate is still checked
 * against that IP, but the SNI name is IP_SNI_NAME: pass the result's channel options to the client.
 */
export function channelCredentials(
  tls?: ClientTlsOptions,
  host?: string,
): { creds: ChannelCredentials; options: Record<string, string> } {
  if (!tls) return { creds: credentials.createInsecure(), options: {} };
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile))
    throw new Error('tls.certFile and tls.keyFile go together');
  const ca = tls.caFile ? readFileSync(tls.caFile) : null;
  const key = tls.keyFile ? readFileSync(tls.keyFile) : null;
  const cert = tls.certFile ? readFileSync(tls.certFile) : null;
  if (!host || isIP(host) === 0) return { creds: credentials.createSsl(ca, key, cert), options: {} };
  // grpc-js sends the override as SNI and checks the certificate against it through this function:
  // the check is made against the IP the client dialled.
  const creds = credentials.createSsl(ca, key, cert, {
    checkServerIdentity: (_name, peer) => checkServerIdentity(host, peer),
  });
  return { creds, options: { 'grpc.ssl_target_name_override': IP_SNI_NAME } };
}
