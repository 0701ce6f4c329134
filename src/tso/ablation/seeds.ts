// --seeds: a count N (the seeds run.seed .. run.seed+N−1) or an explicit comma-separated list ("11,"
// is the list of the one seed 11).

export const DEFAULT_SEED_COUNT = 5;

export function parseSeeds(arg: string | undefined, baseSeed: number): number[] {
  if (arg === undefined) return Array.from({ length: DEFAULT_SEED_COUNT }, (_, i) => baseSeed + i);
  const text = arg.trim();
  const isInt = (s: string) => /^\d+$/.test(s);
  if (!text.includes(',')) {
    if (!isInt(text) || Number(text) < 1)
      throw new Error(`--seeds: expected a count >= 1 or a list like 11,12,13, got "${arg}"`);
    return Array.from({ length: Number(text) }, (_, i) => baseSeed + i);
  }
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s, i, all) => s.length > 0 || i !== all.length - 1); // a trailing comma only
  const bad = parts.filter((s) => !isInt(s));
  if (bad.length)
    throw new Error(`--seeds: not a seed (integer >= 0): ${bad.map((s) => `"${s}"`).join(', ')}`);
  const seeds = parts.map(Number);
  const dup = seeds.filter((s, i) => seeds.indexOf(s) !== i);
  if (dup.length) throw new Error(`--seeds: seed(s) listed twice: ${[...new Set(dup)].join(', ')}`);
  return seeds;
}
