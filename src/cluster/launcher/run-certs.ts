// A run CA and one certificate per principal for gRPC mTLS, made with `openssl` in a 0700 temp dir
// the launcher deletes at the end. EC P-256 keys (fast to make); SAN 127.0.0.1 and localhost, as a
// `tso cluster` run is local; CN = the principal ("coordinator" or the node id), which the nodes'
// authorization checks. Valid for two days: a run's certificates are worthless after it.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { token } from '../../transport/index.js';

const run = promisify(execFile);

export interface CertFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface RunCerts {
  dir: string;
  ca: string;
  files(name: string): CertFiles;
  remove(): void;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 20_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string; code?: string };
    const why =
      err.code === 'ENOENT' ? 'openssl not found (install it, or set grpc_tls: plaintext)' : err.stderr;
    throw new Error(
      `generating the run's gRPC certificates: openssl ${args[0]} failed: ${why ?? err.message}`,
      {
        cause: e,
      },
    );
  }
}

export async function makeRunCerts(names: string[]): Promise<RunCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'tso-certs-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const key = (f: string) => ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f];
    await openssl(key('ca.key'), dir);
    await openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=tso-run-ca', '-days', '2', '-out', 'ca.pem'],
      dir,
    );
    writeFileSync(
      join(dir, 'ext.cnf'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    for (const n of names) {
      token('certificate name', n);
      await openssl(key(`${n}.key`), dir);
      await openssl(['req', '-new', '-key', `${n}.key`, '-subj', `/CN=${n}`, '-out', `${n}.csr`], dir);
      await openssl(
        [
          ...['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
          ...['-days', '2', '-extfile', 'ext.cnf', '-out', `${n}.pem`],
        ],
        dir,
      );
      chmodSync(join(dir, `${n}.key`), 0o600);
    }
    rmSync(join(dir, 'ca.key')); // nobody signs anything else for this run
  } catch (e) {
    remove();
    throw e;
  }
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    files: (n) => ({ ca: join(dir, 'ca.pem'), cert: join(dir, `${n}.pem`), key: join(dir, `${n}.key`) }),
    remove,
  };
}
