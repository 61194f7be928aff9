/**
 * The receiving side of file transfer (internal: use `receiveFiles` from `file_transfer.ts`).
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { join } from "node:path";
import { ENVELOPE_PRESETS } from "../framing/envelope.ts";
import { FileTransferError } from "./file_transfer_error.ts";
import {
  FILE_CHUNK,
  freeSpace,
  hashPrefix,
  Link,
  lstatOrUndefined,
  newHash,
  removeIfExists,
  syncDir,
  toTransferError,
} from "./file_transfer_link.ts";
import { SOCKKIT_FILE_ENVELOPE } from "./file_transfer_send.ts";
import {
  checkFileName,
  escapeFileName,
  PARTIAL_STATE_SUFFIX,
  PARTIAL_SUFFIX,
} from "./safe_name.ts";
import type { FileTransferResult, ReceiveFileOptions } from "./file_transfer.ts";

type Resolved = ReceiveFileOptions & {
  dir: string;
  overwrite: boolean;
  resume: boolean;
  maxFileSize: number;
  maxHeaderLength: number;
  maxFiles: number;
};

const HEX64 = /^[0-9a-f]{64}$/;

/** Where a file goes, and its hidden partial and state files. */
interface Target {
  final: string;
  partial: string;
  state: string;
}

function targetOf(dir: string, name: string): Target {
  return {
    final: join(dir, name),
    partial: join(dir, `.${name}${PARTIAL_SUFFIX}`),
    state: join(dir, `.${name}${PARTIAL_STATE_SUFFIX}`),
  };
}

/** A failure that ends the session (the connection is unusable). */
class Fatal extends Error {
  constructor(readonly error: FileTransferError, readonly result?: FileTransferResult) {
    super(error.message);
  }
}

export async function receiveSession(
  conn: Deno.Conn,
  options: Resolved,
): Promise<FileTransferResult[]> {
  const link = new Link(conn, options.idleTimeout ?? 30_000, options.signal);
  const results: FileTransferResult[] = [];
  try {
    if (options.wire === "seed") {
      await receiveSeed(link, options, results);
    } else {
      while (results.length < options.maxFiles) {
        const offer = await readControl(link, results);
        if (offer === null || offer.type === "done") break;
        const result = await receiveOne(link, offer, options);
        // A refused or corrupt file was told to the sender: the session goes on.
        results.push(result);
      }
    }
  } catch (error) {
    if (!(error instanceof Fatal)) throw error;
    if (error.result !== undefined) results.push(error.result);
  } finally {
    link.dispose();
  }
  return results;
}

/** Reads a control frame; a broken connection between files ends the session quietly. */
async function readControl(
  link: Link,
  results: FileTransferResult[],
): Promise<Record<string, unknown> | null> {
  try {
    const message = await link.readJson();
    if (message !== null && message.type !== "offer" && message.type !== "done") {
      throw new FileTransferError(
        "protocol",
        `expected an offer, got ${JSON.stringify(message.type)} (is the sender on the seed wire?)`,
      );
    }
    return message;
  } catch (error) {
    const failure = toTransferError(error, link);
    results.push({
      name: "",
      path: "",
      size: 0,
      resumedFrom: 0,
      transferred: 0,
      ok: false,
      error: failure,
    });
    throw new Fatal(failure);
  }
}

/** Checks that a file may be created: safe name, not there yet (or overwrite), fits the disk. */
async function admit(
  name: unknown,
  size: number,
  needed: number,
  options: Resolved,
): Promise<Target> {
  const safe = checkFileName(name);
  if (size > options.maxFileSize) {
    throw new FileTransferError(
      "too-large",
      `${escapeFileName(safe)} is ${size} bytes, over the limit of ${options.maxFileSize}`,
    );
  }
  const target = targetOf(options.dir, safe);
  const existing = await lstatOrUndefined(target.final);
  if (existing !== undefined && (!options.overwrite || existing.isDirectory)) {
    throw new FileTransferError(
      "exists",
      `${escapeFileName(safe)} already exists in ${options.dir}${
        existing.isDirectory ? " (a directory)" : " (use --overwrite to replace it)"
      }`,
    );
  }
  const partial = await lstatOrUndefined(target.partial);
  if (partial !== undefined && !partial.isFile) {
    throw new FileTransferError("io", `${target.partial} exists and is not a regular file`);
  }
  const free = freeSpace(options.dir);
  if (free !== undefined && needed > free) {
    throw new FileTransferError(
      "no-space",
      `${escapeFileName(safe)} needs ${needed} bytes but ${options.dir} has ${free} free`,
    );
  }
  return target;
}

interface ResumeState {
  size: number;
  /** Only from senders that put the whole file's SHA-256 in the offer. */
  sha256?: string;
  mtime: number;
}

async function readState(path: string): Promise<ResumeState | undefined> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    return value;
  } catch {
    return undefined;
  }
}

async function receiveOne(
  link: Link,
  offer: Record<string, unknown>,
  options: Resolved,
): Promise<FileTransferResult> {
  const name = typeof offer.name === "string" ? offer.name : String(offer.name);
  const size = offer.size;
  const sha256 = offer.sha256;
  const result: FileTransferResult = {
    name,
    path: "",
    size: typeof size === "number" ? size : 0,
    resumedFrom: 0,
    transferred: 0,
    ok: false,
  };
  const refuse = async (error: FileTransferError): Promise<FileTransferResult> => {
    result.error = error;
    await send(link, { type: "refuse", code: error.code, error: error.message }, result);
    return result;
  };
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return refuse(new FileTransferError("bad-header", `bad size ${JSON.stringify(size)}`));
  }
  // A sender that hashed the file first puts its SHA-256 in the offer; ours sends it after the
  // body (the file is read once), in an `end` frame.
  if (sha256 !== undefined && (typeof sha256 !== "string" || !HEX64.test(sha256))) {
    return refuse(new FileTransferError("bad-header", "the offer's sha256 is not valid"));
  }
  const mode = typeof offer.mode === "number" ? offer.mode & 0o777 : 0o644;
  const mtime = typeof offer.mtime === "number" && Number.isFinite(offer.mtime)
    ? offer.mtime
    : undefined;

  // What do we already have of this very source?
  let offset = 0;
  let hash = newHash();
  let target: Target;
  try {
    const safe = checkFileName(name);
    const t = targetOf(options.dir, safe);
    if (options.resume) {
      const state = await readState(t.state);
      const info = await lstatOrUndefined(t.partial);
      if (
        state?.size === size && state.sha256 === sha256 && state.mtime === offer.mtime &&
        info?.isFile && info.size <= size
      ) {
        using file = await Deno.open(t.partial, { read: true });
        offset = await hashPrefix(file, info.size, hash);
      }
    }
    target = await admit(name, size, size - offset, options);
    result.path = target.final;
  } catch (error) {
    return refuse(toTransferError(error));
  }
  const prefixSha256 = hash.copy().digest("hex");
  await send(link, { type: "accept", offset, sha256: prefixSha256 }, result);

  // The envelope.
  let envelope;
  try {
    envelope = await link.reader.readEnvelope({
      ...SOCKKIT_FILE_ENVELOPE,
      maxHeaderLength: options.maxHeaderLength,
    });
  } catch (error) {
    throw fatal(result, toTransferError(error, link));
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
    h.name !== name || h.size !== size || h.sha256 !== sha256 ||
    (sentOffset !== offset && sentOffset !== 0) || envelope.bodyLength !== size - sentOffset
  ) {
    await envelope.body.cancel().catch(() => {});
    throw fatal(
      result,
      new FileTransferError("protocol", "the envelope does not match the offer"),
    );
  }
  if (sentOffset !== offset) {
    // The sender's file does not start with our partial data: start over.
    offset = 0;
    hash = newHash();
  }
  result.resumedFrom = offset;

  const { final, partial, state } = target;
  const file = await openPartial(partial, offset, result);
  try {
    if (offset === 0) {
      await Deno.writeTextFile(state, JSON.stringify({ size, sha256, mtime: offer.mtime }));
    }
    await writeBody(link, envelope.body, file, hash, result, options, offset, size);
    await file.sync();
  } catch (error) {
    // Keep what arrived (synced) and the state: the next run resumes from here.
    try {
      await file.sync();
    } catch {
      // the data that made it is still in the file
    }
    file.close();
    throw fatal(result, toTransferError(error, link));
  }
  file.close();

  let expected = sha256 as string | undefined;
  if (expected === undefined) {
    let end;
    try {
      end = await link.readJson();
    } catch (error) {
      throw fatal(result, toTransferError(error, link));
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
      await removeIfExists(partial);
      await removeIfExists(state);
      result.error = new FileTransferError(
        "io",
        `${escapeFileName(name)}: the source changed while being sent (${
          escapeFileName(end.changed)
        }); discarded`,
      );
      await send(
        link,
        { type: "ack", ok: false, code: "io", error: result.error.message },
        result,
      );
      return result;
    }
    if (typeof end.sha256 !== "string" || !HEX64.test(end.sha256)) {
      throw fatal(result, new FileTransferError("protocol", "the end frame has no valid sha256"));
    }
    expected = end.sha256;
  }

  const digest = hash.digest("hex");
  result.sha256 = digest;
  if (digest !== expected) {
    await removeIfExists(partial);
    await removeIfExists(state);
    result.error = new FileTransferError(
      "checksum",
      `${escapeFileName(name)}: SHA-256 mismatch (expected ${expected}, got ${digest}); discarded`,
    );
    await send(
      link,
      { type: "ack", ok: false, code: "checksum", error: result.error.message },
      result,
    );
    return result;
  }
  try {
    await finish(partial, final, options, mode, mtime);
    await removeIfExists(state);
  } catch (error) {
    result.error = toTransferError(error);
    await send(link, {
      type: "ack",
      ok: false,
      code: result.error.code,
      error: result.error.message,
    }, result);
    return result;
  }
  result.ok = true;
  await send(link, { type: "ack", ok: true, sha256: digest }, result);
  return result;
}

function fatal(result: FileTransferResult, error: FileTransferError): Fatal {
  result.error = error;
  return new Fatal(error, result);
}

async function send(
  link: Link,
  message: Record<string, unknown>,
  result: FileTransferResult,
): Promise<void> {
  try {
    await link.sendJson(message);
  } catch (error) {
    const failure = toTransferError(error, link);
    result.error ??= failure;
    throw new Fatal(failure, result);
  }
}

async function openPartial(
  partial: string,
  offset: number,
  result: FileTransferResult,
): Promise<Deno.FsFile> {
  try {
    const file = await Deno.open(partial, { write: true, create: true, mode: 0o600 });
    await file.truncate(offset);
    await file.seek(offset, Deno.SeekMode.Start);
    return file;
  } catch (error) {
    throw fatal(result, toTransferError(error));
  }
}

/**
 * Streams a body into the file, hashing it. Socket chunks are gathered into 1 MiB blocks; one
 * block is written to the file while the next one fills from the socket (one write in flight, so
 * the file's bytes stay in order; at most two blocks in memory).
 */
async function writeBody(
  link: Link,
  body: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  hash: Hash,
  result: FileTransferResult,
  options: Resolved,
  offset: number,
  total: number,
): Promise<void> {
  const reader = body.getReader();
  const blocks = [new Uint8Array(FILE_CHUNK), new Uint8Array(FILE_CHUNK)];
  let which = 0;
  let filled = 0;
  let writing: Promise<void> | undefined;
  const name = result.name;
  let done = offset;
  const flush = async () => {
    const block = blocks[which].subarray(0, filled);
    await writing;
    writing = writeFileAll(file, block);
    // keep a rejection from going unhandled while the next block fills
    writing.catch(() => {});
    which ^= 1;
    filled = 0;
  };
  options.onProgress?.({ name, phase: "receiving", done, total, offset });
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      hash.update(value);
      let at = 0;
      while (at < value.length) {
        const n = Math.min(FILE_CHUNK - filled, value.length - at);
        blocks[which].set(value.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === FILE_CHUNK) await flush();
      }
      // hashed and copied: the socket may read into it again
      link.recycle(value);
      done += value.length;
      result.transferred += value.length;
      options.onProgress?.({ name, phase: "receiving", done, total, offset });
    }
    if (filled > 0) await flush();
    await writing;
  } catch (error) {
    // Keep every byte that arrived: the next run resumes after them.
    try {
      if (filled > 0) await flush();
      await writing;
    } catch {
      // the disk failed too: what made it is in the file
    }
    throw toTransferError(error, link);
  } finally {
    reader.releaseLock();
  }
}

async function writeFileAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Sets mode and time, then renames the verified partial file to its final name. */
async function finish(
  partial: string,
  final: string,
  options: Resolved,
  mode: number,
  mtime: number | undefined,
): Promise<void> {
  try {
    await Deno.chmod(partial, mode);
  } catch {
    // not supported on this OS
  }
  if (mtime !== undefined) await Deno.utime(partial, new Date(), new Date(mtime));
  const existing = await lstatOrUndefined(final);
  if (existing !== undefined && (!options.overwrite || existing.isDirectory)) {
    await removeIfExists(partial);
    throw new FileTransferError("exists", `${final} appeared during the transfer; kept it`);
  }
  await Deno.rename(partial, final);
  await syncDir(options.dir);
}

/** The tutorial's wire: one header, one body, no ack. */
async function receiveSeed(
  link: Link,
  options: Resolved,
  results: FileTransferResult[],
): Promise<void> {
  const result: FileTransferResult = {
    name: "",
    path: "",
    size: 0,
    resumedFrom: 0,
    transferred: 0,
    ok: false,
  };
  let envelope;
  try {
    envelope = await link.reader.readEnvelope({
      ...ENVELOPE_PRESETS.python,
      maxHeaderLength: options.maxHeaderLength,
    });
  } catch (error) {
    results.push(result);
    result.error = toTransferError(error, link);
    return;
  }
  if (envelope === null) return;
  results.push(result);
  const name = envelope.header.filename;
  result.name = typeof name === "string" ? name : String(name);
  result.size = envelope.bodyLength;
  let target: Target;
  try {
    target = await admit(name, envelope.bodyLength, envelope.bodyLength, options);
  } catch (error) {
    result.error = toTransferError(error);
    // No way to tell the sender on this wire: stop reading and let the caller close.
    return;
  }
  result.path = target.final;
  // The seed wire has no identity to resume against: always start from zero.
  const file = await openPartial(target.partial, 0, result).catch((e: Fatal) => {
    result.error = e.error;
    return undefined;
  });
  if (file === undefined) return;
  const hash = newHash();
  try {
    await writeBody(link, envelope.body, file, hash, result, options, 0, envelope.bodyLength);
    await file.sync();
  } catch (error) {
    file.close();
    await removeIfExists(target.partial);
    result.error = toTransferError(error, link);
    return;
  }
  file.close();
  result.sha256 = hash.digest("hex");
  try {
    await finish(target.partial, target.final, options, 0o644, undefined);
    result.ok = true;
  } catch (error) {
    await removeIfExists(target.partial);
    result.error = toTransferError(error);
  }
}
