/**
 * A small seeded PRNG for property tests (mulberry32), so a failing run can be replayed with
 * `SOCKKIT_SEED=<seed>`.
 *
 * @module
 */

import { Random as SeededRandom } from "../examples/_random.ts";

/** The seed to use: the one given, else `SOCKKIT_SEED` from the environment, else a random one. */
function seedOf(seed?: number): number {
  const fromEnv = (() => {
    try {
      return Deno.env.get("SOCKKIT_SEED");
    } catch {
      return undefined;
    }
  })();
  return seed ?? (fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31));
}

/** A seeded source of random numbers that remembers its seed (for the failure message). */
export class Random extends SeededRandom {
  /** The seed this source started from. */
  readonly seed: number;

  /**
   * Makes a source.
   *
   * @param seed The seed; by default `SOCKKIT_SEED` from the environment, else a random one.
   */
  constructor(seed?: number) {
    const start = seedOf(seed);
    super(start);
    this.seed = start;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = (this.next() * 4294967296) >>> 0;
      out[i] = v;
      if (i + 1 < n) out[i + 1] = v >>> 8;
      if (i + 2 < n) out[i + 2] = v >>> 16;
      if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  }

  /** One element of a list. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
}
