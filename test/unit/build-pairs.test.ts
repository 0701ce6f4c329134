// Pair building does not depend on the order in which different nodes' answers arrive (over NATS it
// varies from run to run): the same answers in another interleaving give the same pairs, ids included.
import { describe, expect, it } from 'vitest';
import type { GeneratedResponse } from '../../src/tso/loop/port.js';
import { buildPairs, priorFromConfig, type LoopPrompt } from '../../src/tso/loop/build-pairs.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';

const cfg = RunConfigSchema.parse({});
const prompts: LoopPrompt[] = [{ id: 'p0', prompt: 'sort: 3 1 2' }];

function answer(node: string, tier: number, text: string, seed: number): GeneratedResponse {
  return {
    promptId: 'p0',
    text,
    source: node === 'policy-0' ? 'policy' : 'generator',
    tier,
    node,
    model: node,
    weightVersion: 'v0',
    sampling: { temperature: 0.7, topK: 0, topP: 1, maxNewTokens: 8 },
    seed,
  } as GeneratedResponse;
}

// Each node's own answers in the order it returned them; duplicates across and within nodes.
const byNode = [
  [answer('gen-a', 1, '1 2 3', 1), answer('gen-a', 1, '1 2 3', 2)],
  [answer('gen-b', 2, '3 2 1', 3), answer('gen-b', 2, '1 2', 4)],
  [answer('policy-0', 5, '1 2', 5), answer('policy-0', 5, '2 1 3', 6)],
];

async function pairsFrom(responses: GeneratedResponse[]) {
  const built = await buildPairs(cfg, 0, prompts, responses, { prior: priorFromConfig(cfg) });
  return built.rows;
}

describe('buildPairs', () => {
  it('gives the same pairs, ids included, whatever order the nodes answered in', async () => {
    const inOrder = await pairsFrom(byNode.flat());
    const interleaved = await pairsFrom([
      byNode[2][0],
      byNode[0][0],
      byNode[1][0],
      byNode[2][1],
      byNode[1][1],
      byNode[0][1],
    ]);
    expect(inOrder.length).toBeGreaterThan(0);
    expect(JSON.stringify(interleaved)).toBe(JSON.stringify(inOrder));
  });
});
