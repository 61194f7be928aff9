/**
 * One file on the sockkit wire, receiving side: offer → accept/refuse → envelope → end → ack,
 * with the name locked, the partial file held open from before the accept to the final move,
 * and a disk failure told to the sender in an `error` message.
 *
 * @module
 */

import type { FramedConn } from "../framed_conn.ts";
import {
  type Control,
  errorMessage,
  receiveControl,
  sendControl,
  toTransferError,
} from "./control.ts";
import { FileTransferError } from "./error.ts";
import { hashPrefix } from "./file_hash.ts";
import { lockName, type NameLock } from "./name_lock.ts";
import { createFresh, openExisting, readSmall, removeEntry, writeSmall } from "./no_follow.ts";
import {
  admit,
  discard,
  finish,
  resumeHint,
  type Target,
  targetOf,
  writeBody,
} from "./receive_store.ts";
import { awaitResume } from "./resume.ts";
import { checkFileName, escapeFileName } from "./safe_name.ts";
import { type Sha256, sha256For } from "./sha256.ts";
import {
  type FileTransferResult,
  HEX64,
  newResult,
  PROGRESS_INTERVAL,
  type ResolvedReceiveOptions,
  SOCKKIT_FILE_ENVELOPE,
} from "./wire.ts";

/** A failure that ends the session (the connection is unusable). */
export class Fatal extends Error {
  /**
   * @param error What went wrong.
   * @param result The file it happened to.
   */
  constructor(readonly error: FileTransferError, readonly result?: FileTransferResult) {
    super(error.message);
  }
}

function fatal(result: FileTransferResult, error: unknown): Fatal {
  result.error ??= toTransferError(error);
  return new Fatal(result.error, result);
}

/** Waits for the hash; its failure (a failed worker) ends the session. */
async function hashed<T>(work: Promise<T>, result: FileTransferResult): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw fatal(result, error);
  }
}

async function send(conn: FramedConn, message: Control, result: FileTransferResult) {
  try {
    await sendControl(conn, message);
  } catch (error) {
    throw fatal(result, error);
  }
}

/** What the receiver holds for one file between the offer and the acknowledgement. */
interface Held {
  target: Target;
  lock: NameLock;
  file?: Deno.FsFile;
  offset: number;
  hash: Sha256;
}

interface Offer {
  name: string;
  size: number;
  sha256?: string;
  mode: number;
  mtime: number | undefined;
  rawMtime: unknown;
}

function parseOffer(offer: Control): Offer | FileTransferError {
  const size = offer.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return new FileTransferError("bad-header", `bad size ${JSON.stringify(size)}`);
  }
  // A sender that hashed the file first puts its SHA-256 in the offer; ours sends it after the
  // body (the file is read once), in an `end` frame.
  const sha256 = offer.sha256;
  if (sha256 !== undefined && (typeof sha256 !== "string" || !HEX64.test(sha256))) {
    return new FileTransferError("bad-header", "the offer's sha256 is not valid");
  }
  return {
    name: typeof offer.name === "string" ? offer.name : String(offer.name),
    size,
    sha256,
    mode: typeof offer.mode === "number" ? offer.mode & 0o777 : 0o644,
    mtime: typeof offer.mtime === "number" && Number.isFinite(offer.mtime)
      ? offer.mtime
      : undefined,
    rawMtime: offer.mtime,
  };
}

/** Locks the name, finds resumable data, admits the file and opens its partial file. */
async function prepare(offer: Offer, options: ResolvedReceiveOptions): Promise<Held> {
  const target = targetOf(options.dir, checkFileName(offer.name));
  const lock = await lockName(options.dir, target.name);
  const held: Held = { target, lock, offset: 0, hash: sha256For(offer.size, options.hashWorker) };
  try {
    if (options.resume) await findResumable(held, offer);
    await admit(target, offer.size, offer.size - held.offset, options);
    if (held.file === undefined) {
      held.file = await createFresh(target.partial);
      await writeSmall(
        target.state,
        JSON.stringify({ size: offer.size, sha256: offer.sha256, mtime: offer.rawMtime }),
      );
    }
    return held;
  } catch (error) {
    held.file?.close();
    held.hash[Symbol.dispose]();
    await lock.release();
    throw error;
  }
}

/** Opens the partial data of this very source (same size and mtime), if any, and hashes it. */
async function findResumable(held: Held, offer: Offer): Promise<void> {
  let state;
  try {
    state = JSON.parse(await readSmall(held.target.state, 4096) ?? "null");
  } catch {
    return; // no usable state (missing, a link, not JSON): start over
  }
  if (
    state?.size !== offer.size || state.sha256 !== offer.sha256 || state.mtime !== offer.rawMtime
  ) {
    return;
  }
  let opened;
  try {
    opened = await openExisting(held.target.partial, { write: true });
  } catch (error) {
    if (error instanceof FileTransferError && error.code === "unsafe-file") return;
    throw error;
  }
  if (opened === undefined) return;
  if (opened.info.size > offer.size) {
    opened.file.close();
    return;
  }
  held.file = opened.file;
  held.offset = await hashPrefix(opened.file, opened.info.size, held.hash);
}

/** Receives one offered file. Refusals and checksum failures return; connection failures throw. */
export async function receiveOne(
  conn: FramedConn,
  message: Control,
  options: ResolvedReceiveOptions,
): Promise<FileTransferResult> {
  const result = newResult(
    typeof message.name === "string" ? message.name : String(message.name),
    "",
  );
  const refuse = async (error: unknown): Promise<FileTransferResult> => {
    result.error = toTransferError(error);
    await send(conn, errorMessage("refuse", result.error), result);
    return result;
  };
  const offer = parseOffer(message);
  if (offer instanceof FileTransferError) return refuse(offer);
  result.size = offer.size;
  let held: Held;
  try {
    held = await busy(conn, prepare(offer, options));
  } catch (error) {
    return refuse(error);
  }
  result.path = held.target.final;
  try {
    return await transfer(conn, offer, held, result, options);
  } finally {
    held.file?.close();
    held.hash[Symbol.dispose]();
    await held.lock.release();
  }
}

async function transfer(
  conn: FramedConn,
  offer: Offer,
  held: Held,
  result: FileTransferResult,
  options: ResolvedReceiveOptions,
): Promise<FileTransferResult> {
  const { target } = held;
  const file = held.file!;
  await send(conn, {
    type: "accept",
    offset: held.offset,
    sha256: await hashed(held.hash.peek(), result),
  }, result);
  let resumeAt = 0;
  if (held.offset > 0) {
    try {
      resumeAt = await awaitResume(conn, held.offset);
    } catch (error) {
      throw fatal(result, error);
    }
  }

  let envelope;
  try {
    envelope = await conn.receiveEnvelope({
      ...SOCKKIT_FILE_ENVELOPE,
      maxHeaderLength: options.maxHeaderLength,
    });
  } catch (error) {
    throw fatal(result, error);
  }
  if (envelope === null) {
    throw fatal(
      result,
      new FileTransferError("truncated", "the connection ended before the file's envelope"),
    );
  }
  const h = envelope.header;
  const sentOffset = h.offset;
  if (
    h.name !== offer.name || h.size !== offer.size || h.sha256 !== offer.sha256 ||
    sentOffset !== resumeAt ||
    envelope.bodyLength !== offer.size - (sentOffset as number)
  ) {
    throw fatal(result, new FileTransferError("protocol", "the envelope does not match the offer"));
  }
  if (sentOffset !== held.offset) {
    // The sender's file does not start with our partial data: start over.
    held.offset = 0;
    await hashed(held.hash.digest(), result); // starts over
    await file.truncate(0);
  }
  result.resumedFrom = held.offset;
  await file.seek(held.offset, Deno.SeekMode.Start);

  let stopped: FileTransferError | undefined;
  try {
    let last = performance.now();
    stopped = await writeBody(
      conn,
      file,
      held.hash,
      result,
      options,
      held.offset,
      offer.size,
      (received) => {
        const now = performance.now();
        if (now - last < PROGRESS_INTERVAL) return;
        last = now;
        // a failed send shows on the next operation of the connection
        sendControl(conn, { type: "progress", received }).catch(() => {});
      },
    );
  } catch (error) {
    await keep(file);
    throw fatal(result, error);
  }
  if (stopped !== undefined) {
    // The disk failed: keep what made it, tell the sender why and how to go on, and wait for it
    // to stop sending.
    await keep(file);
    const kept = (await file.stat()).size;
    result.error = new FileTransferError(
      stopped.code,
      `${stopped.message}; ${kept} of ${offer.size} bytes of ${escapeFileName(offer.name)} ${
        resumeHint(target)
      }`,
      { cause: stopped },
    );
    try {
      await sendControl(conn, errorMessage("error", result.error));
      await conn.flush();
      await envelope.body.cancel();
    } catch {
      // the sender is gone already
    }
    throw new Fatal(result.error, result);
  }
  await busy(conn, file.sync());
  return await verifyAndPlace(conn, offer, held, result, options);
}

/**
 * Waits for local work (hashing a partial file, fsync) while telling the sender, every
 * {@linkcode PROGRESS_INTERVAL} ms, that this side is alive: a long fsync is no idle peer.
 */
async function busy<T>(conn: FramedConn, work: Promise<T>): Promise<T> {
  const timer = setInterval(
    () => sendControl(conn, { type: "progress" }).catch(() => {}),
    PROGRESS_INTERVAL,
  );
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Syncs what arrived, so that a resume finds it; a failing disk keeps what it kept. */
async function keep(file: Deno.FsFile): Promise<void> {
  try {
    await file.sync();
  } catch {
    // the data that made it is still in the file
  }
}

async function verifyAndPlace(
  conn: FramedConn,
  offer: Offer,
  held: Held,
  result: FileTransferResult,
  options: ResolvedReceiveOptions,
): Promise<FileTransferResult> {
  const { target } = held;
  let expected = offer.sha256;
  if (expected === undefined) {
    let end;
    try {
      end = await receiveControl(conn);
    } catch (error) {
      throw fatal(result, error);
    }
    if (end === null) {
      throw fatal(
        result,
        new FileTransferError("truncated", "the connection ended before the file's SHA-256"),
      );
    }
    if (end.type !== "end") {
      throw fatal(
        result,
        new FileTransferError("protocol", `expected an end, got ${JSON.stringify(end.type)}`),
      );
    }
    if (typeof end.changed === "string") {
      // The source changed while it was read: what arrived is no copy of any one version.
      await discard(target);
      result.error = new FileTransferError(
        "io",
        `${escapeFileName(offer.name)}: the source changed while being sent (${
          escapeFileName(end.changed)
        }); discarded`,
      );
      await send(conn, errorMessage("ack", result.error), result);
      return result;
    }
    if (typeof end.sha256 !== "string" || !HEX64.test(end.sha256)) {
      throw fatal(result, new FileTransferError("protocol", "the end frame has no valid sha256"));
    }
    expected = end.sha256;
  }

  const digest = await hashed(held.hash.digest(), result);
  result.sha256 = digest;
  if (digest !== expected) {
    await discard(target);
    result.error = new FileTransferError(
      "checksum",
      `${
        escapeFileName(offer.name)
      }: SHA-256 mismatch (expected ${expected}, got ${digest}); discarded`,
    );
    await send(conn, errorMessage("ack", result.error), result);
    return result;
  }
  try {
    await busy(conn, finish(target, held.file!, options, offer.mode, offer.mtime));
    await removeEntry(target.state);
  } catch (error) {
    result.error = toTransferError(error);
    await send(conn, errorMessage("ack", result.error), result);
    return result;
  }
  result.ok = true;
  await send(conn, { type: "ack", ok: true, sha256: digest }, result);
  return result;
}
