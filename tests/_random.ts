/**
 * A small seeded PRNG for property tests (mulberry32), so a failing run can be replayed with
 * `SOCKKIT_SEED=<seed>`.
 *
 * @module
 */

/** A seeded source of random numbers. */
export class Random {
  #state: number;
  /** The seed this source started from. */
  readonly seed: number;

  /**
   * Makes a source.
   *
   * @param seed The seed; by default `SOCKKIT_SEED` from the environment, else a random one.
   */
  constructor(seed?: number) {
    const fromEnv = (() => {
      try {
        return Deno.env.get("SOCKKIT_SEED");
      } catch {
        return undefined;
      }
    })();
    this.seed = seed ?? (fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31));
    this.#state = this.seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
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
