/**
 * Sending files: {@linkcode sendFiles} and {@linkcode sendFile}.
 *
 * @module
 */

import { basename } from "node:path";
import type { FramedConn } from "../framed_conn.ts";
import {
  type Control,
  receiveControl,
  remoteError,
  sendControl,
  toTransferError,
} from "./control.ts";
import { FileTransferError } from "./error.ts";
import { checkCommon, checkConn, watchSignal } from "./options.ts";
import { resumeOffset } from "./resume.ts";
import { escapeFileName, unsafeFileNameReason } from "./safe_name.ts";
import { type Sha256, sha256For } from "./sha256.ts";
import {
  FILE_CHUNK,
  type FileProgress,
  type FileTransferResult,
  newResult,
  SEED_FILE_ENVELOPE,
  type SendFileOptions,
  SOCKKIT_FILE_ENVELOPE,
} from "./wire.ts";

/**
 * Sends files over a framed connection; the peer runs `receiveFiles` with the same wire. A file
 * the receiver refuses (exists, busy, unsafe name, no space, checksum mismatch) fails alone and
 * the others still go; a connection failure, or a receiver that stopped inside a file (its disk
 * filled up: its reason is in the result), fails the file in progress and every later one. Never
 * throws for a failed transfer: look at each result's `ok` and `error`.
 *
 * On the seed wire only one file fits on a connection, and this side half-closes the connection
 * after it (that wire ends a file with the end of the stream). The seed wire has no
 * acknowledgement: `ok` then means every byte was handed to the connection, and `acknowledged`
 * is `false`. Deadlines are the connection's (`idleTimeout` and friends of `connectFramed` and
 * `listenFramed`); closing it is the caller's job.
 *
 * Requires `allow-read` permission.
 *
 * @param conn A framed connection (default `u32be` frames) on which nothing was read yet.
 * @param paths The files to send.
 * @param options The wire, names, signal and progress callback.
 * @returns One result per path, in order.
 * @throws {TypeError | RangeError} On bad arguments.
 *
 * @example Sending two files to a receiver on the loopback
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import { receiveFiles, sendFiles } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * const src = await Deno.makeTempDir();
 * const dst = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/a.txt`, "hello");
 * await Deno.writeFile(`${src}/b.bin`, new Uint8Array(10_000).fill(7));
 *
 * await using listener = listenFramed({ port: 0, idleTimeout: 10_000 });
 * const receiving = (async () => {
 *   await using conn = (await listener.accept())!;
 *   return await receiveFiles(conn, { dir: dst });
 * })();
 * {
 *   await using conn = await connectFramed({ port: listener.addr.port, idleTimeout: 10_000 });
 *   const sent = await sendFiles(conn, [`${src}/a.txt`, `${src}/b.bin`]);
 *   assert.deepEqual(sent.map((r) => [r.ok, r.acknowledged]), [[true, true], [true, true]]);
 * }
 * const received = await receiving;
 * assert.deepEqual(received.map((r) => r.name), ["a.txt", "b.bin"]);
 * assert.equal(await Deno.readTextFile(`${dst}/a.txt`), "hello");
 * await Deno.remove(src, { recursive: true });
 * await Deno.remove(dst, { recursive: true });
 * ```
 *
 * @tags allow-net, allow-read
 */
export function sendFiles(
  conn: FramedConn,
  paths: readonly string[],
  options: SendFileOptions = {},
): Promise<FileTransferResult[]> {
  checkConn(conn);
  checkCommon(options);
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string")) {
    throw new TypeError("paths must be an array of strings");
  }
  if (options.names !== undefined && options.names.length !== paths.length) {
    throw new RangeError(`names has ${options.names.length} entries for ${paths.length} paths`);
  }
  if (options.wire === "seed" && paths.length > 1) {
    throw new RangeError("the seed wire carries one file per connection");
  }
  return sendSession(conn, paths, options);
}

/**
 * Sends one file (see {@linkcode sendFiles}) and throws when it fails.
 *
 * Requires `allow-read` permission.
 *
 * @param conn A framed connection.
 * @param path The file to send.
 * @param options The wire, signal and progress callback (`names` may hold one name).
 * @returns The result, `ok`.
 * @throws {FileTransferError} When the transfer failed or the receiver refused the file.
 *
 * @example A receiver that refuses a file that exists
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import { FileTransferError, receiveFiles, sendFile } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/src.txt`, "new");
 * await Deno.mkdir(`${dir}/out`);
 * await Deno.writeTextFile(`${dir}/out/src.txt`, "old");
 *
 * await using listener = listenFramed({ port: 0 });
 * const receiving = (async () => {
 *   await using conn = (await listener.accept())!;
 *   return await receiveFiles(conn, { dir: `${dir}/out` });
 * })();
 * {
 *   await using conn = await connectFramed({ port: listener.addr.port });
 *   await assert.rejects(
 *     sendFile(conn, `${dir}/src.txt`),
 *     (e) => e instanceof FileTransferError && e.code === "exists" && e.remote,
 *   );
 * }
 * assert.equal((await receiving)[0].error?.code, "exists");
 * assert.equal(await Deno.readTextFile(`${dir}/out/src.txt`), "old");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @tags allow-net, allow-read
 */
export async function sendFile(
  conn: FramedConn,
  path: string,
  options: SendFileOptions = {},
): Promise<FileTransferResult> {
  const [result] = await sendFiles(conn, [path], options);
  if (!result.ok) throw result.error!;
  return result;
}

interface Source {
  path: string;
  name: string;
  file: Deno.FsFile;
  size: number;
  mode: number;
  mtime: number;
}

async function openSource(path: string, name: string): Promise<Source> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FileTransferError("not-found", `${escapeFileName(path)}: no such file`, {
        cause: error,
      });
    }
    throw toTransferError(error);
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      throw new FileTransferError("not-found", `${escapeFileName(path)}: not a regular file`);
    }
    return {
      path,
      name,
      file,
      size: info.size,
      mode: (info.mode ?? 0o644) & 0o777,
      mtime: info.mtime?.getTime() ?? 0,
    };
  } catch (error) {
    file.close();
    throw toTransferError(error);
  }
}

async function sendSession(
  conn: FramedConn,
  paths: readonly string[],
  options: SendFileOptions,
): Promise<FileTransferResult[]> {
  using _ = watchSignal(conn, options.signal);
  const results: FileTransferResult[] = [];
  let fatal: FileTransferError | undefined;
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i];
    const result = newResult(options.names?.[i] ?? basename(path), path);
    results.push(result);
    if (fatal !== undefined) {
      result.error = new FileTransferError(fatal.code, `not sent: ${fatal.message}`, {
        cause: fatal,
      });
      continue;
    }
    const reason = unsafeFileNameReason(result.name);
    if (reason !== undefined) {
      result.error = new FileTransferError(
        "unsafe-name",
        `not sent: ${escapeFileName(result.name)}: ${reason}`,
      );
      continue;
    }
    let source: Source;
    try {
      source = await openSource(path, result.name);
    } catch (error) {
      result.error = toTransferError(error);
      continue;
    }
    try {
      result.size = source.size;
      if (options.wire === "seed") await sendSeed(conn, source, result, options);
      else await sendOne(conn, source, result, options);
    } catch (error) {
      // The peer may be inside a body: the connection is unusable.
      result.error = toTransferError(error);
      fatal = result.error;
      conn.abort();
    } finally {
      source.file.close();
    }
  }
  if (options.wire !== "seed" && fatal === undefined) {
    try {
      await sendControl(conn, { type: "done" });
      await conn.flush();
    } catch {
      // every file was acknowledged already; a peer that left early loses nothing
    }
  }
  return results;
}

function progress(
  options: SendFileOptions,
  source: Source,
  phase: FileProgress["phase"],
  done: number,
  offset: number,
): void {
  options.onProgress?.({ name: source.name, phase, done, total: source.size, offset });
}

async function sendSeed(
  conn: FramedConn,
  source: Source,
  result: FileTransferResult,
  options: SendFileOptions,
): Promise<void> {
  const body = fileBody(source, 0, result, options);
  await conn.sendEnvelope({ filename: source.name }, body, source.size, SEED_FILE_ENVELOPE);
  // The end of the stream ends the file on this wire.
  await conn.closeWrite();
  result.ok = true;
}

/**
 * The file from `offset` to its declared end, in 1 MiB chunks from a ring of buffers
 * (`hash.depth` of them): the next read runs while a chunk is written and hashed (maybe in a
 * worker). A buffer is read into
 * again only after its chunk was written (`sendEnvelope` asks for the next one then) and hashed,
 * so the hash covers exactly the bytes sent.
 */
async function* fileBody(
  source: Source,
  offset: number,
  result: FileTransferResult,
  options: SendFileOptions,
  hash?: Sha256,
): AsyncGenerator<Uint8Array> {
  const { file, size } = source;
  await file.seek(offset, Deno.SeekMode.Start);
  const allocate = (n: number) => hash?.buffer(n) ?? new Uint8Array(n);
  const buffers = Array.from({ length: hash?.depth ?? 2 }, () => allocate(FILE_CHUNK));
  const hashing: (Promise<void> | undefined)[] = buffers.map(() => undefined);
  let which = 0;
  let position = offset;
  progress(options, source, "sending", position, offset);
  let reading: Promise<number | null> | undefined = size > position
    ? file.read(buffers[which])
    : undefined;
  try {
    while (reading !== undefined) {
      const n = await reading;
      if (n === null) {
        throw new FileTransferError(
          "io",
          `${escapeFileName(source.path)} shrank while being sent (${position} of ${size} bytes)`,
        );
      }
      const chunk = buffers[which].subarray(0, Math.min(n, size - position));
      position += chunk.length;
      hashing[which] = hash?.update(chunk);
      which = (which + 1) % buffers.length;
      if (position < size) {
        const next = which;
        reading = (hashing[next] ?? Promise.resolve()).then(() => file.read(buffers[next]));
      } else reading = undefined;
      yield chunk;
      result.transferred += chunk.length;
      progress(options, source, "sending", position, offset);
    }
    await Promise.all(hashing);
  } finally {
    await reading?.catch(() => {});
    await Promise.allSettled(hashing);
  }
}

async function sendOne(
  conn: FramedConn,
  source: Source,
  result: FileTransferResult,
  options: SendFileOptions,
): Promise<void> {
  const { size } = source;
  const what = `the receiver refused ${escapeFileName(source.name)}`;
  // 1. The offer: name, size, mode and mtime. The whole file's SHA-256 follows the body (it is
  //    computed while sending, so the file is read once); a resume is checked on size and mtime by
  //    the receiver and on the prefix's SHA-256 here.
  const identity = { name: source.name, size, mode: source.mode, mtime: source.mtime };
  await sendControl(conn, { type: "offer", ...identity });

  // 2. The receiver accepts (telling what it already has) or refuses.
  const reply = await receiveAnswer(conn);
  if (reply === null) {
    throw new FileTransferError("connection", "the receiver closed the connection after the offer");
  }
  if (reply.type === "refuse") {
    result.error = remoteError(reply, what);
    return;
  }
  if (reply.type !== "accept") {
    throw new FileTransferError(
      "protocol",
      `expected an accept, got ${JSON.stringify(reply.type)}`,
    );
  }
  using hash = sha256For(size, options.hashWorker);
  const offset = await resumeOffset(conn, source.file, size, reply, hash, (done) => {
    progress(options, source, "hashing", done, 0);
  });
  result.resumedFrom = offset;

  // 3. The envelope: header, then the bytes from the offset on, hashed as they go out; then the
  //    whole file's SHA-256, or word that the source changed while it was read. Meanwhile the
  //    receiver may stop (its disk filled up) and say why: that ends the send at once.
  const answer = receiveAnswer(conn);
  let stopped: FileTransferError | undefined;
  answer.then((message) => {
    if (message?.type === "error") {
      stopped = remoteError(message, `the receiver stopped ${escapeFileName(source.name)}`);
      conn.abort(stopped);
    }
  }, () => {});
  try {
    await conn.sendEnvelope(
      { ...identity, offset },
      fileBody(source, offset, result, options, hash),
      size - offset,
      SOCKKIT_FILE_ENVELOPE,
    );
  } catch (error) {
    conn.abort(error);
    await answer.catch(() => {});
    throw stopped ?? error;
  }
  const sha256 = await hash.digest();
  const changed = await changedSince(source);
  await sendControl(
    conn,
    changed === undefined ? { type: "end", sha256 } : { type: "end", changed },
  );
  if (changed === undefined) result.sha256 = sha256;

  // 4. The acknowledgement, after the receiver verified and renamed.
  const ack = await answer;
  if (stopped !== undefined) throw stopped;
  checkAck(ack, source, result, changed, sha256);
}

/** The receiver's next message that is not a progress report (an ack, or an error). */
async function receiveAnswer(conn: FramedConn): Promise<Control | null> {
  for (;;) {
    const message = await receiveControl(conn);
    if (message?.type !== "progress") return message;
  }
}

function checkAck(
  ack: Control | null,
  source: Source,
  result: FileTransferResult,
  changed: string | undefined,
  sha256: string,
): void {
  if (ack === null) {
    throw new FileTransferError(
      "connection",
      "the receiver closed the connection before acknowledging",
    );
  }
  if (ack.type !== "ack") {
    throw new FileTransferError("protocol", `expected an ack, got ${JSON.stringify(ack.type)}`);
  }
  result.acknowledged = true;
  if (changed !== undefined) {
    result.error = new FileTransferError(
      "io",
      `${
        escapeFileName(source.path)
      } changed while being sent (${changed}); the receiver discarded it`,
    );
  } else if (ack.ok === true && ack.sha256 === sha256) {
    result.ok = true;
  } else {
    result.error = remoteError(ack, `the receiver refused ${escapeFileName(source.name)}`);
  }
}

/** What changed in the source since it was opened (size or mtime), or `undefined`. */
async function changedSince(source: Source): Promise<string | undefined> {
  const info = await source.file.stat();
  if (info.size !== source.size) return `size ${source.size} -> ${info.size}`;
  const mtime = info.mtime?.getTime() ?? 0;
  if (mtime !== source.mtime) return `mtime ${source.mtime} -> ${mtime}`;
  return undefined;
}
