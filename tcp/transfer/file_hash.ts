/**
 * SHA-256 of files and of their prefixes, read through an open handle.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { FILE_CHUNK } from "./wire.ts";

/** A fresh incremental SHA-256. */
export function newHash(): Hash {
  return createHash("sha256");
}

/**
 * Hashes the first `length` bytes of an open file from its start.
 *
 * @returns The number of bytes hashed (less than `length` if the file is shorter).
 */
export async function hashPrefix(
  file: Deno.FsFile,
  length: number,
  hash: Hash,
  onChunk?: (done: number) => void,
): Promise<number> {
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(FILE_CHUNK);
  let done = 0;
  while (done < length) {
    const n = await file.read(buffer.subarray(0, Math.min(FILE_CHUNK, length - done)));
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    done += n;
    onChunk?.(done);
  }
  return done;
}

/** Writes all of `bytes` to a file (a file write may be partial too). */
export async function writeFileAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
