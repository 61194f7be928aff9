/**
 * Small byte helpers (stand-ins for `@std/bytes`, which is on JSR and not reachable from our build
 * machines).
 *
 * @module
 */

/**
 * Joins byte arrays into one new array.
 *
 * @param chunks The arrays to join, in order.
 * @returns A new array holding the bytes of every chunk.
 *
 * @example Joining two chunks
 * ```ts
 * import { concatBytes } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Tells whether two byte arrays hold the same bytes.
 *
 * @param a The first array.
 * @param b The second array.
 * @returns `true` when both have the same length and bytes.
 *
 * @example Comparing
 * ```ts
 * import { equalBytes } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
 * assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([2, 1])), false);
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
