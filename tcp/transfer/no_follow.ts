/**
 * Files in the receive directory, handled without following links. `Deno.open` has no
 * `O_NOFOLLOW`, so every file is either created exclusively (`createNew`: `O_CREAT|O_EXCL`, which
 * fails on any existing entry, a dangling link included) or opened after `lstat` and then checked
 * to be that very file (`fstat` device and inode equal `lstat`'s, a regular file with one link).
 * Once open, all writes, the mtime and the fsync go through the handle, not the path; the mode
 * is set through a handle opened with `O_NOFOLLOW` and checked the same way; the final rename is
 * checked before and after. A link planted before the transfer, or swapped in during it, is
 * refused and nothing is written through it.
 *
 * @module
 */

import { closeSync, constants, fchmodSync, fstatSync, openSync } from "node:fs";
import { writeAll } from "../write_all.ts";
import { FileTransferError } from "./error.ts";
import { escapeFileName } from "./safe_name.ts";

/** `lstat`, or `undefined` when nothing is there. */
export async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Whether two stats describe the same file (device and inode). */
export function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.ino !== null && a.dev === b.dev && a.ino === b.ino;
}

function unsafe(path: string, what: string): FileTransferError {
  return new FileTransferError("unsafe-file", `${escapeFileName(path)} ${what}: not used`);
}

/** Checks that an entry found by `lstat` is a plain regular file with one link. */
function checkPlain(path: string, info: Deno.FileInfo): void {
  if (info.isSymlink) throw unsafe(path, "is a symbolic link");
  if (!info.isFile) throw unsafe(path, "is not a regular file");
  if (info.nlink !== null && info.nlink > 1) throw unsafe(path, "has other hard links");
}

/**
 * Opens an existing regular file without following a link: `lstat`, open, then `fstat` must
 * show the same file. Returns `undefined` when nothing is at `path`.
 *
 * @throws {FileTransferError} Code `"unsafe-file"` for a link, a non-regular file, a file with
 *   other hard links, or one swapped between the `lstat` and the open.
 */
export async function openExisting(
  path: string,
  options: { write: boolean },
): Promise<{ file: Deno.FsFile; info: Deno.FileInfo } | undefined> {
  const before = await lstatOrUndefined(path);
  if (before === undefined) return undefined;
  checkPlain(path, before);
  const file = await Deno.open(path, { read: true, write: options.write });
  try {
    const info = await file.stat();
    if (!sameFile(before, info) || !info.isFile) throw unsafe(path, "changed while opened");
    return { file, info };
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Creates a new file exclusively (never through an existing entry or link).
 *
 * @throws {FileTransferError} Code `"unsafe-file"` when something appeared at `path`.
 */
export async function createExclusive(path: string, mode = 0o600): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true, write: true, createNew: true, mode });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw unsafe(path, "appeared while it was being created");
    }
    throw error;
  }
}

/** Removes the entry at `path` itself (a link, never its target); a directory is refused. */
export async function removeEntry(path: string): Promise<void> {
  const info = await lstatOrUndefined(path);
  if (info === undefined) return;
  if (info.isDirectory) throw unsafe(path, "is a directory");
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Replaces whatever is at `path` with a new, empty file of its own. */
export async function createFresh(path: string, mode = 0o600): Promise<Deno.FsFile> {
  await removeEntry(path);
  return await createExclusive(path, mode);
}

/** Checks that `path` still names the open `file`. */
export async function checkStillAt(path: string, file: Deno.FsFile): Promise<Deno.FileInfo> {
  const [entry, info] = await Promise.all([lstatOrUndefined(path), file.stat()]);
  if (entry === undefined || !sameFile(entry, info) || entry.isSymlink) {
    throw unsafe(path, "was replaced during the transfer");
  }
  return info;
}

/**
 * Sets the mode of the open `file` that `path` names, through a handle opened with `O_NOFOLLOW`
 * and checked to be the same file (Deno's file handles have no `chmod`). Skipped where the OS has
 * no modes.
 */
export function chmodOpen(path: string, info: Deno.FileInfo, mode: number): void {
  if (Deno.build.os === "windows") return;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as { code?: string }).code === "ELOOP") throw unsafe(path, "is a symbolic link");
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (stat.ino !== info.ino || stat.dev !== info.dev || !stat.isFile()) {
      throw unsafe(path, "was replaced during the transfer");
    }
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/**
 * Moves the verified partial file to its final name: checked before (the partial entry is still
 * our file) and after (the final name is our file). Without `overwrite`, an existing final name
 * is kept: a hard link makes the final name only if nothing has it (no clobbering in a race).
 *
 * @throws {FileTransferError} `"exists"` when the final name appeared; `"unsafe-file"` when an
 *   entry was swapped.
 */
export async function moveIntoPlace(
  partial: string,
  final: string,
  file: Deno.FsFile,
  overwrite: boolean,
): Promise<void> {
  const info = await checkStillAt(partial, file);
  const existing = await lstatOrUndefined(final);
  if (existing?.isDirectory) throw unsafe(final, "is a directory");
  if (overwrite) {
    await Deno.rename(partial, final);
  } else {
    if (existing !== undefined) {
      throw new FileTransferError(
        "exists",
        `${escapeFileName(final)} appeared during the transfer`,
      );
    }
    try {
      await Deno.link(partial, final);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new FileTransferError(
          "exists",
          `${escapeFileName(final)} appeared during the transfer`,
        );
      }
      // no hard links on this file system: a plain rename (checked just above)
      await Deno.rename(partial, final);
    }
    await removeEntry(partial);
  }
  const placed = await lstatOrUndefined(final);
  if (placed === undefined || placed.isSymlink || !sameFile(placed, info)) {
    if (placed?.isSymlink) await removeEntry(final);
    throw unsafe(partial, "was replaced before it was renamed");
  }
}

/** Reads a small regular file (at most `max` bytes) without following a link. */
export async function readSmall(path: string, max: number): Promise<string | undefined> {
  const opened = await openExisting(path, { write: false });
  if (opened === undefined) return undefined;
  using file = opened.file;
  if (opened.info.size > max) return undefined;
  const buffer = new Uint8Array(opened.info.size);
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return new TextDecoder().decode(buffer.subarray(0, filled));
}

/** Writes a small file at `path`, replacing any entry there (never through a link). */
export async function writeSmall(path: string, text: string): Promise<void> {
  using file = await createFresh(path);
  await writeAll(file, new TextEncoder().encode(text));
  await file.sync();
}

/** fsyncs a directory so a rename in it is durable (best effort: not every OS allows it). */
export async function syncDir(dir: string): Promise<void> {
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // not supported here (Windows): the rename is still atomic
  }
}
