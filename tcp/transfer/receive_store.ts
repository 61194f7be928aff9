/**
 * The disk side of a receive: where a file goes, what may be created, the body streamed into the
 * held partial file, and the final move. Never touches the connection except through the body
 * stream it is given.
 *
 * @module
 */

import type { FramedConn } from "../framed_conn.ts";
import { join } from "node:path";
import { toTransferError } from "./control.ts";
import { FileTransferError } from "./error.ts";
import { writeAll } from "../write_all.ts";
import { freeSpace } from "./free_space.ts";
import {
  checkStillAt,
  chmodOpen,
  lstatOrUndefined,
  moveIntoPlace,
  removeEntry,
  syncDir,
} from "./no_follow.ts";
import { escapeFileName } from "./safe_name.ts";
import type { Sha256 } from "./sha256.ts";
import {
  FILE_CHUNK,
  type FileTransferResult,
  PARTIAL_STATE_SUFFIX,
  PARTIAL_SUFFIX,
  type ResolvedReceiveOptions,
} from "./wire.ts";

/** Where a file goes, and its hidden partial and state files. */
export interface Target {
  /** The checked base name. */
  name: string;
  /** The final path. */
  final: string;
  /** The hidden file that holds the data until it is verified. */
  partial: string;
  /** The hidden file that records the source a partial belongs to. */
  state: string;
}

/** The paths of `name` in `dir` (the name must be checked already). */
export function targetOf(dir: string, name: string): Target {
  return {
    name,
    final: join(dir, name),
    partial: join(dir, `.${name}${PARTIAL_SUFFIX}`),
    state: join(dir, `.${name}${PARTIAL_STATE_SUFFIX}`),
  };
}

/**
 * Checks that a file may be created under its final name and fits the disk.
 *
 * @throws {FileTransferError} `"too-large"`, `"exists"` or `"no-space"`.
 */
export async function admit(
  target: Target,
  size: number,
  needed: number,
  options: ResolvedReceiveOptions,
): Promise<void> {
  if (size > options.maxFileSize) {
    throw new FileTransferError(
      "too-large",
      `${escapeFileName(target.name)} is ${size} bytes, over the limit of ${options.maxFileSize}`,
    );
  }
  const existing = await lstatOrUndefined(target.final);
  if (existing !== undefined && (!options.overwrite || existing.isDirectory)) {
    throw new FileTransferError(
      "exists",
      `${escapeFileName(target.name)} already exists in ${escapeFileName(options.dir)}${
        existing.isDirectory ? " (a directory)" : " and overwriting was not allowed"
      }`,
    );
  }
  const free = freeSpace(options.dir, options.canStatfs);
  if (free !== undefined && needed > free) {
    throw new FileTransferError(
      "no-space",
      `${escapeFileName(target.name)} needs ${needed} bytes but ${
        escapeFileName(options.dir)
      } has ${free} free`,
    );
  }
}

/** How to resume or discard the partial data of `target`, for messages. */
export function resumeHint(target: Target): string {
  return `are kept in ${escapeFileName(target.partial)}: send the file again to resume, or ` +
    `delete ${escapeFileName(target.partial)} and ${escapeFileName(target.state)} to discard them`;
}

/**
 * Streams the envelope body being received on `conn` into the file at its current position,
 * hashing it. The socket is read straight into a ring of 1 MiB blocks (`readBodyInto`: no copy,
 * no allocation per read; `hash.depth` of them); a full block is written to the file and hashed
 * (maybe in a worker; on this thread, each read is hashed as it arrives) while the next fills. A block is filled again only once it was both written and hashed,
 * so the hash covers exactly the bytes written; one write is in flight at a time, so the file's
 * bytes stay in order.
 *
 * @param onChunk Called after each read with the bytes present so far.
 * @returns `undefined`, or the local error (disk) that stopped it, after keeping every byte that
 *   made it. A failure of the connection (or of the hash) is thrown.
 */
export async function writeBody(
  conn: FramedConn,
  file: Deno.FsFile,
  hash: Sha256,
  result: FileTransferResult,
  options: ResolvedReceiveOptions,
  offset: number,
  total: number,
  onChunk?: (done: number) => void,
): Promise<FileTransferError | undefined> {
  const blocks = Array.from({ length: hash.depth }, () => hash.buffer(FILE_CHUNK));
  /** Per block: its write and its hash, settled before the block is filled again. */
  const busy: Promise<unknown>[] = blocks.map(() => Promise.resolve());
  let which = 0;
  let filled = 0;
  let writing: Promise<void> = Promise.resolve();
  let diskError: unknown;
  const name = result.name;
  let done = offset;
  const flush = async () => {
    const block = blocks[which].subarray(0, filled);
    const previous = writing;
    // a disk error is collected here and reported after the current read
    writing = previous.then(() => writeAll(file, block)).catch((error) => {
      diskError ??= error;
    });
    busy[which] = hash.inline ? writing : Promise.all([writing, hash.update(block)]);
    which = (which + 1) % blocks.length;
    filled = 0;
    await busy[which];
  };
  options.onProgress?.({ name, phase: "receiving", done, total, offset });
  try {
    for (;;) {
      if (diskError !== undefined) break;
      const n = await conn.readBodyInto(blocks[which].subarray(filled));
      if (n === null) break;
      if (hash.inline) await hash.update(blocks[which].subarray(filled, filled + n));
      filled += n;
      if (filled === FILE_CHUNK) await flush();
      done += n;
      result.transferred += n;
      options.onProgress?.({ name, phase: "receiving", done, total, offset });
      onChunk?.(done);
    }
    if (filled > 0 && diskError === undefined) await flush();
    await Promise.all(busy);
  } catch (error) {
    // Keep every byte that arrived: the next run resumes after them.
    if (filled > 0 && diskError === undefined) await flush().catch(() => {});
    await Promise.allSettled(busy);
    throw error;
  }
  return diskError === undefined ? undefined : toTransferError(diskError);
}

/**
 * Gives the verified partial file the sender's mode and mtime (through the open handle), then
 * moves it to its final name and makes the move durable.
 */
export async function finish(
  target: Target,
  file: Deno.FsFile,
  options: ResolvedReceiveOptions,
  mode: number,
  mtime: number | undefined,
): Promise<void> {
  const info = await checkStillAt(target.partial, file);
  if (mtime !== undefined) await file.utime(new Date(), new Date(mtime));
  chmodOpen(target.partial, info, mode);
  await moveIntoPlace(target.partial, target.final, file, options.overwrite);
  await syncDir(options.dir);
}

/** Removes a partial file and its state (the entries themselves, never a link's target). */
export async function discard(target: Target): Promise<void> {
  await removeEntry(target.partial);
  await removeEntry(target.state);
}
