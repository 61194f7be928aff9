/**
 * The tutorial's wire, receiving side: one `i32le` JSON header `{"filename","filesize"}`, exactly
 * `filesize` bytes, then the end of the stream. No hash and no acknowledgement on this wire, so
 * the receiver checks what it can: the name, the size, and that nothing follows the body.
 *
 * @module
 */

import type { FramedConn } from "../framed_conn.ts";
import { toTransferError } from "./control.ts";
import { FileTransferError } from "./error.ts";
import { sha256For } from "./sha256.ts";
import { lockName } from "./name_lock.ts";
import { createFresh, removeEntry } from "./no_follow.ts";
import { admit, finish, targetOf, writeBody } from "./receive_store.ts";
import { checkFileName, escapeFileName } from "./safe_name.ts";
import {
  type FileTransferResult,
  newResult,
  type ResolvedReceiveOptions,
  SEED_FILE_ENVELOPE,
} from "./wire.ts";

const SEED = (options: ResolvedReceiveOptions) => ({
  ...SEED_FILE_ENVELOPE,
  maxHeaderLength: options.maxHeaderLength,
});

/** Receives the one file of a seed-wire connection into `results`. */
export async function receiveSeed(
  conn: FramedConn,
  options: ResolvedReceiveOptions,
  results: FileTransferResult[],
): Promise<void> {
  const result = newResult("", "");
  let envelope;
  try {
    envelope = await conn.receiveEnvelope(SEED(options));
  } catch (error) {
    results.push(result);
    result.error = toTransferError(error);
    return;
  }
  if (envelope === null) return;
  results.push(result);
  const name = envelope.header.filename;
  result.name = typeof name === "string" ? name : String(name);
  result.size = envelope.bodyLength;
  try {
    const target = targetOf(options.dir, checkFileName(name));
    result.path = target.final;
    const lock = await lockName(options.dir, target.name);
    try {
      await admit(target, envelope.bodyLength, envelope.bodyLength, options);
      // The seed wire has no identity to resume against: always start from zero.
      using file = await createFresh(target.partial);
      using hash = sha256For(result.size, options.hashWorker);
      let stopped;
      try {
        stopped = await writeBody(conn, file, hash, result, options, 0, result.size);
        if (stopped !== undefined) throw stopped;
        await file.sync();
        await expectEnd(conn, result);
        result.sha256 = await hash.digest();
        await finish(target, file, options, 0o644, undefined);
      } catch (error) {
        await removeEntry(target.partial);
        throw error;
      }
    } finally {
      await lock.release();
    }
    result.ok = true;
  } catch (error) {
    // No way to tell the sender on this wire: the caller closes the connection.
    result.error = toTransferError(error);
  }
}

/** The body must be followed by the end of the stream: more bytes mean a broken sender. */
async function expectEnd(conn: FramedConn, result: FileTransferResult): Promise<void> {
  let more: boolean;
  try {
    more = await conn.receiveEnvelope(SEED_FILE_ENVELOPE) !== null;
  } catch (error) {
    const failure = toTransferError(error);
    // a reset after the whole body is only an impolite close
    if (failure.code === "connection") return;
    if (failure.code === "timeout" || failure.code === "aborted") throw failure;
    more = true;
  }
  if (more) {
    conn.abort();
    throw new FileTransferError(
      "protocol",
      `bytes beyond the declared filesize of ${escapeFileName(result.name)} (${result.size}): ` +
        "discarded (the seed wire carries one file, then the end of the stream)",
    );
  }
}
