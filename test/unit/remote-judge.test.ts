// The coordinator's judge is the one the config names (judge_nodes), not the lowest registered id.
import { describe, expect, it } from 'vitest';
import { RemoteJudge } from '../../src/cluster/coordinator/remote-judge.js';
import type { NodeDirectory } from '../../src/cluster/coordinator/node-directory.js';
import { Role, Verdict } from '../../src/transport/index.js';

function fakeDir(ids: string[], calls: string[]): NodeDirectory {
  const fake = {
    byRole: (r: Role) => (r === Role.JUDGE ? ids.map((nodeId) => ({ nodeId })) : []),
    judge: (m: { nodeId: string }) => ({
      compare: () => {
        calls.push(m.nodeId);
        return Promise.resolve({
          verdict: Verdict.A,
          confidence: 0.9,
          raw: 'x'.repeat(10_000),
          unparsable: false,
        });
      },
    }),
    markLost: () => {},
  };
  return fake as unknown as NodeDirectory;
}

describe('RemoteJudge', () => {
  it('asks the configured judge even when another id sorts first', async () => {
    const calls: string[] = [];
    const j = new RemoteJudge(fakeDir(['aaa-rogue', 'judge'], calls), 'remote', ['judge']);
    const v = await j.compare('p', 'a', 'b');
    expect(calls).toEqual(['judge']);
    expect(v.winner).toBe('a');
    expect(v.raw?.length).toBe(2000);
  });

  it('refuses to judge when none of judge_nodes is live', async () => {
    const j = new RemoteJudge(fakeDir(['aaa-rogue'], []), 'remote', ['judge']);
    await expect(j.compare('p', 'a', 'b')).rejects.toThrow(/no live judge node among judge_nodes \[judge\]/);
  });
});
