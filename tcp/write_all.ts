/**
 * Whole writes: the tutorial's `sendall`.
 *
 * @module
 */

/** Anything with Deno's `write` contract: writes some bytes and resolves to how many. */
export interface PartialWriter {
  /** Writes up to `p.length` bytes; resolves to the number written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Writes every byte of `bytes`, calling `writer.write` until none are left — Python's
 * `socket.sendall`. Deno's `conn.write()` writes as much as the kernel takes at once: measured
 * here, one `write` of a 64 MiB buffer to a TCP connection wrote about 4 MB.
 *
 * @param writer A `Deno.Conn` or anything with a `write` that may write partially.
 * @param bytes The bytes to write.
 * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} When the peer is gone; some of
 *   the bytes may then have been written.
 * @throws {Error} When `write` reports no progress.
 *
 * @example A writer that takes 3 bytes at a time
 * ```ts
 * import { writeAll } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const got: number[] = [];
 * const writer = {
 *   write(p: Uint8Array): Promise<number> {
 *     const n = Math.min(3, p.length);
 *     got.push(...p.subarray(0, n));
 *     return Promise.resolve(n);
 *   },
 * };
 * await writeAll(writer, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
 * assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7]);
 * ```
 */
export async function writeAll(writer: PartialWriter, bytes: Uint8Array): Promise<void> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  let offset = 0;
  while (offset < bytes.length) {
    const n = await writer.write(offset === 0 ? bytes : bytes.subarray(offset));
    if (!(n > 0)) throw new Error(`write made no progress (returned ${n})`);
    offset += n;
  }
}
