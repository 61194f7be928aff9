/**
 * SHA-256 of files and of their prefixes, read through an open handle.
 *
 * @module
 */

import type { Sha256 } from "./sha256.ts";
import { FILE_CHUNK } from "./wire.ts";

/**
 * Hashes the first `length` bytes of an open file from its start.
 *
 * @returns The number of bytes hashed (less than `length` if the file is shorter).
 */
export async function hashPrefix(
  file: Deno.FsFile,
  length: number,
  hash: Sha256,
  onChunk?: (done: number) => void,
): Promise<number> {
  await file.seek(0, Deno.SeekMode.Start);
  // Two buffers: the next read runs while the last one is hashed.
  const buffers = [hash.buffer(FILE_CHUNK), hash.buffer(FILE_CHUNK)];
  const hashing: (Promise<void> | undefined)[] = [undefined, undefined];
  let which = 0;
  let done = 0;
  try {
    while (done < length) {
      await hashing[which];
      const n = await file.read(buffers[which].subarray(0, Math.min(FILE_CHUNK, length - done)));
      if (n === null) break;
      hashing[which] = hash.update(buffers[which].subarray(0, n));
      which ^= 1;
      done += n;
      onChunk?.(done);
    }
    await Promise.all(hashing);
  } catch (error) {
    await Promise.allSettled(hashing);
    throw error;
  }
  return done;
}
