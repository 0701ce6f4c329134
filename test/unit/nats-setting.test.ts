// The `nats:` key: credentials come from the files and environment variables the config names, and
// every mistake names the key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { resolveNats, settingFromEnv, withUrl } from '../../src/cluster/nats-setting.js';
import { planNatsAuth, serverConfig } from '../../src/cluster/launcher/nats-auth.js';

describe('nats setting', () => {
  it('a plain URL is an open bus; user + password_env reads the environment', () => {
    expect(resolveNats('nats://h:1')).toMatchObject({ servers: 'nats://h:1', open: true });
    const r = resolveNats(
      { url: 'nats://h:1', user: 'u', password_env: 'PW', inbox_prefix: '_INBOX_u' },
      'nats',
      {
        PW: 's3cret',
      },
    );
    expect(r).toMatchObject({ open: false, extra: { user: 'u', pass: 's3cret', inboxPrefix: '_INBOX_u' } });
    expect(withUrl({ url: 'a', user: 'u', password_env: 'PW' }, 'b')).toMatchObject({ url: 'b', user: 'u' });
  });

  it('names the key of every mistake', () => {
    expect(() => resolveNats({ url: 'x', user: 'u' })).toThrow('nats.password_env: required with nats.user');
    expect(() => resolveNats({ url: 'x', user: 'u', password_env: 'NOPE_X' }, 'nats', {})).toThrow(
      'nats.password_env: environment variable NOPE_X is not set',
    );
    expect(() => resolveNats({ url: 'x', token_env: 'T', creds: '/c' }, 'nats', { T: 't' })).toThrow(
      'nats: give one credential, not nats.creds and nats.token_env',
    );
    expect(() => resolveNats({ url: 'x', creds: '/nonexistent.creds' })).toThrow(/nats\.creds: cannot read/);
    expect(() => resolveNats({ url: 'x', tls: { cert: '/c' } })).toThrow(
      'nats.tls: cert and key go together',
    );
    expect(() => settingFromEnv({ TSO_NATS_CONFIG: '{' })).toThrow(/TSO_NATS_CONFIG: not JSON/);
  });

  it('reads an nkey seed file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tso-nkey-'));
    const f = join(dir, 'seed');
    writeFileSync(f, 'SUAM3Z4ZPSJCR2QLD3YFXSSB3YQGTTZT7ALUCS3BZMOQCOJUVA3C4BBVKU\n');
    expect(resolveNats({ url: 'x', nkey_seed_file: f }).extra.authenticator).toBeTypeOf('function');
  });

  it('the cluster config without nats: means the launcher-managed server', () => {
    const c = ClusterConfigSchema.parse({ policy_init: 'm', run: { run_id: 'r' } });
    expect(c.nats).toBeUndefined();
  });

  it('generated server config: one user per principal, random passwords, no anonymous access', () => {
    const plan = planNatsAuth(
      'c',
      'r',
      [
        { id: 'g', role: 'generator', replica: 0 },
        { id: 'p', role: 'policy', replica: 1 },
      ],
      'rid',
    );
    const conf = JSON.parse(serverConfig(plan, { port: 1, storeDir: '/tmp/x' })) as {
      authorization: {
        users: { user: string; password: string; permissions: { publish: { allow: string[] } } }[];
      };
      jetstream: { max_memory_store: number };
    };
    const users = conf.authorization.users;
    expect(users.map((u) => u.user)).toEqual(['coordinator', 'node-g', 'node-p']);
    expect(new Set(users.map((u) => u.password)).size).toBe(3);
    const gen = users[1].permissions.publish.allow;
    expect(gen).toContain('tso.r.*.responses.g');
    expect(gen.some((s) => s.includes('update') || s.includes('$O.'))).toBe(false);
    const pol = users[2].permissions.publish.allow;
    expect(pol).toContain('tso.r.grad.*.*'); // any shard: re-assigned shards
    // Checksums and acks only on its own per-node subjects; no lease, no run state.
    expect(pol).toContain('tso.r.checksum.*.p');
    expect(pol).toContain('tso.r.ack.*.p');
    expect(pol.some((s) => /checksum\.\*$|ack\.\*$|_lease|^\$KV\.tso_r_state/.test(s))).toBe(false);
    // The coordinator may write exactly its run's lease key.
    const coord = users[0].permissions.publish.allow;
    expect(coord.filter((s) => s.includes('_lease'))).toEqual(['$KV.tso_rid_lease.coordinator']);
    expect(conf.jetstream.max_memory_store).toBeGreaterThan(0);
  });
});
