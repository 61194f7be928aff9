/**
 * Receiving files: {@linkcode receiveFiles} and {@linkcode receiveFile}.
 *
 * @module
 */

import type { FramedConn } from "../framed_conn.ts";
import { type Control, receiveControl, toTransferError } from "./control.ts";
import { FileTransferError } from "./error.ts";
import { statfsGranted } from "./free_space.ts";
import { checkCommon, checkConn, watchSignal } from "./options.ts";
import { receiveSeed } from "./receive_seed.ts";
import { Fatal, receiveOne } from "./receive_sockkit.ts";
import {
  type FileTransferResult,
  newResult,
  type ReceiveFileOptions,
  type ResolvedReceiveOptions,
} from "./wire.ts";

/**
 * Receives files from a framed connection into `options.dir` until the sender says it is done
 * (or the connection ends between files, or `maxFiles` arrived). On the seed wire: one file.
 *
 * A refused or corrupt file fails alone (the sender is told, on the sockkit wire); a connection
 * that ends inside a file fails it and ends the session, and so does a full disk (the sender is
 * told why, and the partial data is kept for a resume). Never throws for a failed transfer: look
 * at each result's `ok` and `error`. Deadlines are the connection's: give `connectFramed` or
 * `listenFramed` an `idleTimeout`.
 *
 * Files in `dir` are never written, chmod-ed, timed or renamed through a link; one receive holds
 * a name at a time (a second one of the same name in the same directory fails with code
 * `"busy"`).
 *
 * Requires `allow-read` and `allow-write` permissions (for `dir`). With `allow-sys` (`statfs`)
 * a file larger than the free space of `dir` is refused up front; without it that check is
 * skipped (the permission is queried, never prompted for), and a full disk stops the transfer
 * with code `"no-space"`.
 *
 * @param conn A framed connection (default `u32be` frames) on which nothing was read yet.
 * @param options The directory, wire, overwrite and resume policy, limits, signal and progress
 *   callback.
 * @returns One result per file offered, in order.
 * @throws {TypeError | RangeError} On bad options.
 *
 * @example A hostile name is refused and nothing is written
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import { ENVELOPE_PRESETS } from "@sockkit/sockkit/framing";
 * import { receiveFiles } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await using listener = listenFramed({ port: 0 });
 * const receiving = (async () => {
 *   await using conn = (await listener.accept())!;
 *   return await receiveFiles(conn, { dir, wire: "seed" });
 * })();
 * {
 *   await using conn = await connectFramed({ port: listener.addr.port });
 *   // the tutorial's header with a hostile name, sent as the tutorial's server would
 *   const body = new Uint8Array([1, 2, 3]);
 *   await conn.sendEnvelope({ filename: "../evil" }, body, 3, ENVELOPE_PRESETS.python);
 * }
 * const [result] = await receiving;
 * assert.equal(result.ok, false);
 * assert.equal(result.error?.code, "unsafe-name");
 * assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
 * await Deno.remove(dir);
 * ```
 *
 * @tags allow-net, allow-read, allow-write, allow-sys
 */
export function receiveFiles(
  conn: FramedConn,
  options: ReceiveFileOptions = {},
): Promise<FileTransferResult[]> {
  checkConn(conn);
  checkCommon(options);
  const maxFileSize = options.maxFileSize ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(maxFileSize) || maxFileSize < 0) {
    throw new RangeError(`maxFileSize must be a non-negative safe integer, got ${maxFileSize}`);
  }
  const maxHeaderLength = options.maxHeaderLength ?? 64 * 1024;
  if (!Number.isSafeInteger(maxHeaderLength) || maxHeaderLength < 16) {
    throw new RangeError(
      `maxHeaderLength must be an integer of at least 16, got ${maxHeaderLength}`,
    );
  }
  const maxFiles = options.maxFiles ?? Infinity;
  if (!(maxFiles >= 1)) throw new RangeError(`maxFiles must be at least 1, got ${maxFiles}`);
  if (options.dir !== undefined && typeof options.dir !== "string") {
    throw new TypeError("dir must be a string");
  }
  return receiveSession(conn, {
    ...options,
    dir: options.dir ?? ".",
    overwrite: options.overwrite ?? false,
    resume: options.resume ?? true,
    maxFileSize,
    maxHeaderLength,
    maxFiles,
    canStatfs: statfsGranted(),
  });
}

/**
 * Receives one file (see {@linkcode receiveFiles}) and throws when it fails.
 *
 * Requires `allow-read` and `allow-write` permissions (for `dir`); `allow-sys` (`statfs`) for
 * the up-front free-space check, skipped without it.
 *
 * @param conn A framed connection.
 * @param options The directory, wire, policies, limits, signal and progress callback.
 * @returns The result, `ok`.
 * @throws {FileTransferError} When the transfer failed, or no file came (code `"protocol"`).
 *
 * @example Receiving on the tutorial's wire
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import { receiveFile, sendFile } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/三体.txt`, "黑暗森林");
 * await Deno.mkdir(`${dir}/out`);
 * await using listener = listenFramed({ port: 0 });
 * const sending = (async () => {
 *   await using conn = (await listener.accept())!;
 *   return await sendFile(conn, `${dir}/三体.txt`, { wire: "seed" });
 * })();
 * await using conn = await connectFramed({ port: listener.addr.port });
 * const result = await receiveFile(conn, { dir: `${dir}/out`, wire: "seed" });
 * assert.equal((await sending).acknowledged, false); // the seed wire has no acknowledgement
 * assert.equal(result.name, "三体.txt");
 * assert.equal(await Deno.readTextFile(`${dir}/out/三体.txt`), "黑暗森林");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @tags allow-net, allow-read, allow-write, allow-sys
 */
export async function receiveFile(
  conn: FramedConn,
  options: ReceiveFileOptions = {},
): Promise<FileTransferResult> {
  const [result] = await receiveFiles(conn, { ...options, maxFiles: 1 });
  if (result === undefined) {
    throw new FileTransferError("protocol", "the connection ended before any file was offered");
  }
  if (!result.ok) throw result.error!;
  return result;
}

async function receiveSession(
  conn: FramedConn,
  options: ResolvedReceiveOptions,
): Promise<FileTransferResult[]> {
  const results: FileTransferResult[] = [];
  using _ = watchSignal(conn, options.signal);
  if (options.wire === "seed") {
    await receiveSeed(conn, options, results);
    return results;
  }
  try {
    while (results.length < options.maxFiles) {
      const offer = await readOffer(conn);
      if (offer === null || offer.type === "done") break;
      // A refused or corrupt file was told to the sender: the session goes on.
      results.push(await receiveOne(conn, offer, options));
    }
  } catch (error) {
    if (!(error instanceof Fatal)) throw error;
    results.push(error.result ?? { ...newResult("", ""), error: error.error });
  }
  return results;
}

/** Reads an offer; a broken connection between files ends the session. */
async function readOffer(conn: FramedConn): Promise<Control | null> {
  try {
    const message = await receiveControl(conn);
    if (message !== null && message.type !== "offer" && message.type !== "done") {
      throw new FileTransferError(
        "protocol",
        `expected an offer, got ${JSON.stringify(message.type)} (is the sender on the seed wire?)`,
      );
    }
    return message;
  } catch (error) {
    throw new Fatal(toTransferError(error));
  }
}
