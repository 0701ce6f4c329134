// collectResending (src/cluster/coordinator/resend.ts): answers lost in flight are asked for again,
// with a doubling wait, until the deadline; answers that came before a resend still count.
import { describe, expect, it } from 'vitest';
import { collectResending } from '../../src/cluster/coordinator/resend.js';
import { Subscription } from '../../src/transport/nats/subscription.js';

describe('collectResending', () => {
  it('does not resend when every answer comes in time', async () => {
    const sub = new Subscription<string>('t', () => {});
    sub.push('a');
    sub.push('b');
    let resends = 0;
    const r = await collectResending(sub, {
      until: (xs) => xs.includes('a') && xs.includes('b'),
      timeoutMs: 1000,
      resendAfterMs: 50,
      resend: async () => void resends++,
    });
    expect(r).toEqual({ items: ['a', 'b'], timedOut: false });
    expect(resends).toBe(0);
  });

  it('resends what is missing, keeps what came before, and is satisfied by the answer to the resend', async () => {
    const sub = new Subscription<string>('t', () => {});
    sub.push('a'); // "b" was lost in flight
    const seen: string[][] = [];
    const r = await collectResending(sub, {
      until: (xs) => xs.includes('a') && xs.includes('b'),
      timeoutMs: 5000,
      resendAfterMs: 40,
      resend: async (xs, attempt) => {
        seen.push([...xs]);
        if (attempt === 2) sub.push('b'); // the first resend is lost too
      },
    });
    expect(r.timedOut).toBe(false);
    expect(r.items).toEqual(['a', 'b']);
    expect(seen).toEqual([['a'], ['a']]);
  });

  it('doubles the wait between resends and gives up at the deadline', async () => {
    const sub = new Subscription<string>('t', () => {});
    const at: number[] = [];
    const t0 = Date.now();
    const r = await collectResending(sub, {
      until: (xs) => xs.length > 0,
      timeoutMs: 1000,
      resendAfterMs: 100,
      resend: async () => void at.push(Date.now() - t0),
    });
    expect(r).toEqual({ items: [], timedOut: true });
    // Waits of 100, 200, 400 ms, then the rest up to the deadline: at most three resends, none before
    // its cumulative wait (timers never fire early; a loaded machine only makes them later and fewer).
    expect(at.length).toBeGreaterThanOrEqual(1);
    expect(at.length).toBeLessThanOrEqual(3);
    [100, 300, 700].slice(0, at.length).forEach((min, i) => expect(at[i]).toBeGreaterThanOrEqual(min - 5));
  });
});
