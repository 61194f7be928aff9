/**
 * One receive of a name at a time: `.NAME.sockkit-lock` beside the file, held with an exclusive
 * `flock` while the receive runs. The lock file is made under a unique temporary name with
 * `createNew`, locked, then hard-linked into place, which fails if a lock is already there: so a
 * lock file in place is always locked by a live holder, unless that holder died (`kill -9`), in
 * which case the kernel dropped its `flock` and the next receive takes the stale file over.
 *
 * @module
 */

import { FileTransferError } from "./error.ts";
import { createExclusive, lstatOrUndefined, removeEntry, sameFile } from "./no_follow.ts";
import { escapeFileName } from "./safe_name.ts";
import { LOCK_SUFFIX, LOCK_TEMP_RANDOM } from "./wire.ts";

/** A held name lock. */
export interface NameLock {
  /** Removes the lock file and drops the lock. */
  release(): Promise<void>;
}

function randomPart(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(LOCK_TEMP_RANDOM));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

function busy(name: string): FileTransferError {
  return new FileTransferError(
    "busy",
    `${escapeFileName(name)} is busy: another receive of that name is running in this directory`,
  );
}

/**
 * Takes the lock of `name` in `dir`.
 *
 * @throws {FileTransferError} Code `"busy"` while another receive holds it; `"unsafe-file"` when
 *   something that is not a plain file is in the lock's place.
 */
export async function lockName(dir: string, name: string): Promise<NameLock> {
  const path = `${dir}/.${name}${LOCK_SUFFIX}`;
  const temp = `${path}.${randomPart()}`;
  const file = await createExclusive(temp);
  try {
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    if (!await file.tryLock(true)) throw busy(name);
    for (let attempt = 0;; attempt++) {
      try {
        await Deno.link(temp, path);
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists) || attempt >= 2) throw error;
      }
      await takeOverStale(path, name);
    }
    await removeEntry(temp);
  } catch (error) {
    file.close();
    await removeEntry(temp).catch(() => {});
    throw error;
  }
  const info = await file.stat();
  return {
    async release() {
      try {
        const entry = await lstatOrUndefined(path);
        if (entry !== undefined && sameFile(entry, info)) await removeEntry(path);
      } finally {
        file.close();
      }
    },
  };
}

/** Removes a lock file whose holder is gone (its `flock` is free); throws "busy" otherwise. */
async function takeOverStale(path: string, name: string): Promise<void> {
  const before = await lstatOrUndefined(path);
  if (before === undefined) return;
  if (before.isSymlink || !before.isFile) {
    throw new FileTransferError(
      "unsafe-file",
      `${escapeFileName(path)} is not a plain file: not used (remove it to receive ${
        escapeFileName(name)
      })`,
    );
  }
  // a fresh lock has two links for a moment (its temporary name): open it without that check
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (!sameFile(before, info) || !await file.tryLock(true)) throw busy(name);
  const entry = await lstatOrUndefined(path);
  if (entry !== undefined && sameFile(entry, info)) await removeEntry(path);
}
