// The coordinator's judge: the one the config names (judge_nodes), not the lowest registered id; a lost
// judge fails over to the next configured one, and with none left the prior decides (no verdict), each
// recorded as a run event; a judge's refusal of one comparison does not lose the judge.
import { describe, expect, it } from 'vitest';
import { NodeDirectory } from '../../src/cluster/coordinator/node-directory.js';
import { RemoteJudge } from '../../src/cluster/coordinator/remote-judge.js';
import {
  decode,
  encode,
  Role,
  RpcError,
  status,
  Verdict,
  type Membership,
  type MemberRecord,
} from '../../src/transport/index.js';
import { logger } from '../../src/util/log.js';

type Answer = 'a' | number; // a verdict for A, or a gRPC status code to fail with

function member(nodeId: string): MemberRecord {
  const rec = { nodeId, role: Role.JUDGE, address: '127.0.0.1:1', startedAtMs: 1, heartbeatAtMs: 1 };
  return decode('tso.v1.MemberRecord', encode('tso.v1.MemberRecord', rec));
}

/** A real NodeDirectory over a fake membership, whose judge clients answer from `answers`. */
async function directory(ids: string[], answers: Record<string, Answer>, calls: string[]) {
  const membership = { list: () => Promise.resolve(ids.map(member)) } as unknown as Membership;
  const dir = new NodeDirectory(membership, logger('test'), 1000);
  await dir.refresh();
  dir.judge = ((m: MemberRecord) => ({
    compare: () => {
      calls.push(m.nodeId);
      const a = answers[m.nodeId];
      if (typeof a === 'number')
        return Promise.reject(new RpcError('/tso.v1.Judge/Compare', a, String(a), 'injected'));
      return Promise.resolve({
        verdict: Verdict.A,
        confidence: 0.9,
        raw: 'x'.repeat(10_000),
        unparsable: false,
      });
    },
  })) as unknown as NodeDirectory['judge'];
  return dir;
}

describe('RemoteJudge', () => {
  it('asks the configured judge even when another id sorts first', async () => {
    const calls: string[] = [];
    const dir = await directory(['aaa-rogue', 'judge'], { 'aaa-rogue': 'a', judge: 'a' }, calls);
    const v = await new RemoteJudge(dir, 'remote', ['judge']).compare('p', 'a', 'b');
    expect(calls).toEqual(['judge']);
    expect(v.winner).toBe('a');
    expect(v.raw?.length).toBe(2000);
  });

  it('fails over to the next judge in judge_nodes when one is unreachable, and records it', async () => {
    const calls: string[] = [];
    const dir = await directory(['j1', 'j2'], { j1: 'a', j2: 'a' }, calls);
    const judge = new RemoteJudge(dir, 'remote', ['j1', 'j2']);
    await judge.compare('p', 'a', 'b');
    dir.judge = ((m: MemberRecord) => ({
      compare: () => {
        calls.push(m.nodeId);
        if (m.nodeId === 'j1')
          return Promise.reject(new RpcError('/x', status.UNAVAILABLE, 'UNAVAILABLE', 'gone'));
        return Promise.resolve({ verdict: Verdict.B, confidence: 0.8, raw: '', unparsable: false });
      },
    })) as unknown as NodeDirectory['judge'];
    const v = await judge.compare('p', 'a', 'b');
    expect(v.winner).toBe('b');
    expect(calls).toEqual(['j1', 'j1', 'j2']);
    expect(dir.isLost('j1')).toBe(true);
    const kinds = dir.drainEvents().map((e) => `${e.node} ${e.kind}`);
    expect(kinds).toEqual(['j1 lost', 'j2 fallback']);
  });

  it('with no live judge left, gives no verdict (the prior decides) and records the fallback once', async () => {
    const calls: string[] = [];
    const dir = await directory(['judge'], { judge: status.DEADLINE_EXCEEDED }, calls);
    const judge = new RemoteJudge(dir, 'remote', ['judge']);
    const v1 = await judge.compare('p', 'a', 'b');
    const v2 = await judge.compare('p', 'a', 'b');
    for (const v of [v1, v2]) {
      expect(v.winner).toBe('tie');
      expect(v.confidence).toBe(0);
      expect(v.raw).toMatch(/no live judge node among judge_nodes \[judge\]/);
    }
    expect(calls).toEqual(['judge']);
    const events = dir.drainEvents();
    expect(events.map((e) => `${e.node} ${e.kind}`)).toEqual(['judge lost', 'judge fallback']);
    expect(events[1].detail).toMatch(/calibrated prior/);
  });

  it('a refused comparison is an error event, not a lost judge', async () => {
    for (const code of [status.INVALID_ARGUMENT, status.RESOURCE_EXHAUSTED, status.FAILED_PRECONDITION]) {
      const calls: string[] = [];
      const dir = await directory(['judge', 'j2'], { judge: code, j2: 'a' }, calls);
      const v = await new RemoteJudge(dir, 'remote', ['judge', 'j2']).compare('p', 'a', 'b');
      expect(v.winner).toBe('tie');
      expect(v.confidence).toBe(0);
      expect(calls).toEqual(['judge']);
      expect(dir.isLost('judge')).toBe(false);
      expect(dir.drainEvents().map((e) => `${e.node} ${e.kind}`)).toEqual(['judge error']);
    }
  });
});
