// Copyright 2025 the sockkit authors. MIT license.
/**
 * The one seeded random source of the examples and the tests (mulberry32): the same seed, the
 * same numbers, so a run can be replayed. No Deno API, no imports. Not part of the package.
 *
 * @module
 */

/**
 * A seeded source of random numbers (mulberry32): the same seed, the same numbers.
 *
 * @example The same seed, the same numbers
 * ```ts
 * import { Random } from "./_random.ts";
 * import assert from "node:assert/strict";
 *
 * const a = new Random(7), b = new Random(7);
 * assert.deepEqual([a.next(), a.int(1, 6)], [b.next(), b.int(1, 6)]);
 * ```
 */
export class Random {
  #state: number;

  /**
   * Makes a source.
   *
   * @param seed Any integer.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
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
}
