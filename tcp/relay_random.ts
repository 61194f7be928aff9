// Copyright 2025 the sockkit authors. MIT license.
/**
 * The seeded random numbers of the impairment relays (TCP and UDP): one independent stream per
 * (seed, stream number), so that the same seed and the same input give the same impairments.
 * Internal: not exported from any entry point.
 *
 * @module
 */

/** A function returning numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/** Mixes two 32-bit integers into one (a splitmix/murmur finaliser). */
function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A mulberry32 generator for stream `stream` of `seed`.
 *
 * @param seed Any safe integer.
 * @param stream Which independent stream (a connection and direction, say).
 * @returns The generator.
 */
export function seededRandom(seed: number, stream: number): Random {
  let state = mix(seed | 0, Math.floor(seed / 2 ** 32) ^ mix(stream | 0, 0x5bd1e995));
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for when the caller gave none, reported in the relay's `seed` so a run can be replayed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** Whether `hostname` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
