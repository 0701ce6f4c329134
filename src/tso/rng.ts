// Seeded randomness for everything the TSO loop decides (splits, pair sampling, judge noise).
//
// Run state is checkpointed and resumed bit-exactly, so the generator is a small, well-known one
// with an explicit, JSON-serialisable state: xoshiro128** (Blackman & Vigna, 2018), 4 × uint32.
// Seeds (numbers or strings, plus optional labels) are hashed with cyrb53 and expanded with
// splitmix32, the seeding procedure the xoshiro authors recommend. Labels give independent
// streams from one run seed (e.g. `Rng.fromSeed(seed, 'split', 'train')`).

export interface RngState {
  algorithm: 'xoshiro128**';
  /** The four 32-bit state words as unsigned integers; never all zero. */
  s: [number, number, number, number];
}

export type SeedPart = string | number;

/** cyrb53 (bryc, public domain): a fast 53-bit string hash; not cryptographic. */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Unambiguous key for a list of parts: length-prefixed, so ('ab','c') ≠ ('a','bc'). */
export function seedKey(parts: readonly SeedPart[]): string {
  return parts
    .map((p) => {
      if (typeof p === 'number' && !Number.isFinite(p))
        throw new Error(`rng: seed part must be finite, got ${p}`);
      const s = typeof p === 'number' ? `n${p}` : `s${p}`;
      return `${s.length}:${s}`;
    })
    .join('');
}

/** A uniform number in [0, 1) determined only by the parts (order matters); stateless. */
export function hashUnit(...parts: SeedPart[]): number {
  return hash53(seedKey(parts)) / 2 ** 53;
}

function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Rng {
  private readonly s: Uint32Array;

  private constructor(words: readonly number[]) {
    this.s = Uint32Array.from(words);
    // The all-zero state is the one fixed point of xoshiro; seeding never yields it, but guard anyway.
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** A generator determined by a seed and optional stream labels. */
  static fromSeed(seed: SeedPart, ...labels: SeedPart[]): Rng {
    const h = hash53(seedKey([seed, ...labels]));
    const lo = h >>> 0;
    const hi = Math.floor(h / 4294967296);
    const sm = splitmix32(lo ^ Math.imul(hi, 0x85ebca6b));
    return new Rng([sm(), sm(), sm(), sm()]);
  }

  /** Restores a generator from `getState()`; throws on anything malformed. */
  static fromState(state: RngState): Rng {
    const ok =
      state !== null &&
      typeof state === 'object' &&
      state.algorithm === 'xoshiro128**' &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      state.s.some((w) => w !== 0);
    if (!ok) throw new Error(`rng: invalid state ${JSON.stringify(state)}`);
    return new Rng(state.s);
  }

  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s[0], this.s[1], this.s[2], this.s[3]] };
  }

  clone(): Rng {
    return new Rng(Array.from(this.s));
  }

  /** Next raw output, an unsigned 32-bit integer (the reference xoshiro128** step). */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  below(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296)
      throw new Error(`rng: below(n) needs 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new Error(`rng: int(min, max) needs integers with min ≤ max, got ${min}, ${max}`);
    }
    return min + this.below(max - min + 1);
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('rng: pick from an empty list');
    return items[this.below(items.length)];
  }

  /** Fisher–Yates shuffle, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
