/**
 * File transfer on the JSON-header envelope: the tutorial's "big file without sticky packets",
 * streamed from and to disk, verified with SHA-256, written atomically, resumable, with untrusted
 * names refused — and still able to speak the tutorial's exact wire to its Python programs.
 *
 * Two wires:
 * - `"sockkit"` (default), per file on one connection:
 *   1. sender → `{"type":"offer","name","size","mode","mtime"}` (a `u32be` frame);
 *   2. receiver → `{"type":"accept","offset","sha256"}` (the length and SHA-256 of the partial
 *      data it already has, kept only if size and mtime match the partial's) or
 *      `{"type":"refuse","code","error"}`; the sender starts over at 0 unless its file starts
 *      with exactly that data;
 *   3. sender → an envelope: header `{name, size, mode, mtime, offset, length}`
 *      (`u32be` length, JSON; `length` is the body's size), then the file's bytes from `offset`,
 *      then `{"type":"end","sha256"}` — the whole file's SHA-256, computed while sending so the
 *      file is read once — or `{"type":"end","changed"}` when the source's size or mtime changed
 *      meanwhile (the receiver discards the data). An offer that carries `"sha256"` itself (a
 *      sender that hashed first) gets no `end` frame;
 *   4. receiver, after fsync and verification → `{"type":"ack","ok":true,"sha256"}` or
 *      `{"type":"ack","ok":false,"code","error"}`;
 *
 *   and finally sender → `{"type":"done"}`.
 * - `"seed"`: the tutorial's layout exactly: `struct.pack('i', len(json))` (`i32le`), the UTF-8
 *   JSON `{"filename": …, "filesize": …}`, then the bytes, then close. One file per connection,
 *   no hash, no acknowledgement; the receiver still checks the name and the size.
 *
 * On receive (both wires) the name must be a plain base name, an existing file is kept unless
 * `overwrite`, and the data goes to `.NAME.sockkit-partial` in the directory, is fsynced and
 * verified, then renamed: a failed transfer never leaves a file under the final name.
 *
 * @module
 */

import { receiveSession } from "./file_transfer_receive.ts";
import { sendSession } from "./file_transfer_send.ts";
import { FileTransferError } from "./file_transfer_error.ts";

export * from "./file_transfer_error.ts";
export * from "./safe_name.ts";

/** The wire format of a transfer: see the module documentation. */
export type FileWire = "sockkit" | "seed";

/** What a transfer is doing, for {@linkcode FileProgress}. */
export type FileTransferPhase = "hashing" | "sending" | "receiving";

/** Progress of one file, given to {@linkcode FileTransferOptions.onProgress}. */
export interface FileProgress {
  /** The file's name (as sent). */
  name: string;
  /** What is happening: hashing the source, or moving bytes. */
  phase: FileTransferPhase;
  /** Bytes done: hashed, or present at the receiver (the resumed offset included). */
  done: number;
  /** The file's size in bytes. */
  total: number;
  /** Where this run started (bytes that a previous run already delivered). */
  offset: number;
}

/** Settings shared by sending and receiving. */
export interface FileTransferOptions {
  /**
   * The wire format; both sides must use the same.
   *
   * @default {"sockkit"}
   */
  wire?: FileWire;
  /**
   * Milliseconds without progress on the connection before it is closed and the transfer fails
   * with code `"timeout"` (local work such as hashing or fsync does not count). 0 waits forever.
   *
   * @default {30000}
   */
  idleTimeout?: number;
  /**
   * Stops the transfer: the connection is closed and the transfer fails with code `"aborted"`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called as the transfer progresses (after every chunk: throttle your rendering).
   *
   * @default {undefined}
   */
  onProgress?: (progress: FileProgress) => void;
}

/** Settings of {@linkcode sendFiles}. */
export interface SendFileOptions extends FileTransferOptions {
  /**
   * The names to send, one per path; by default each path's base name.
   *
   * @default {undefined}
   */
  names?: readonly string[];
}

/** Settings of {@linkcode receiveFiles}. */
export interface ReceiveFileOptions extends FileTransferOptions {
  /**
   * The directory to write into; it must exist. Nothing is ever written outside it.
   *
   * @default {"."}
   */
  dir?: string;
  /**
   * Whether an existing file of the same name may be replaced.
   *
   * @default {false}
   */
  overwrite?: boolean;
  /**
   * Whether to continue from the partial data of an interrupted transfer of the same source
   * (sockkit wire). When `false`, partial data is discarded and the file starts over.
   *
   * @default {true}
   */
  resume?: boolean;
  /**
   * The largest file accepted, in bytes. Files above the free space of `dir` are refused too.
   *
   * @default {Number.MAX_SAFE_INTEGER}
   */
  maxFileSize?: number;
  /**
   * The largest JSON header accepted, in bytes.
   *
   * @default {65536}
   */
  maxHeaderLength?: number;
  /**
   * The most files to receive before returning (the connection stays open).
   *
   * @default {Infinity}
   */
  maxFiles?: number;
}

/** The outcome of one file. */
export interface FileTransferResult {
  /** The file's name as sent (an unsafe name is reported as received; print it escaped). */
  name: string;
  /** Sender: the source path. Receiver: the final path (written only when `ok`). */
  path: string;
  /** The file's size in bytes, as declared. */
  size: number;
  /** The SHA-256 of the file, hex (sockkit wire; on the seed wire the receiver's own hash). */
  sha256?: string;
  /** Bytes that an earlier, interrupted run had already delivered (0 when not resumed). */
  resumedFrom: number;
  /** Body bytes that crossed the connection in this run. */
  transferred: number;
  /** Whether the file arrived complete and verified (sender: acknowledged by the receiver). */
  ok: boolean;
  /** Why not, when not `ok`. */
  error?: FileTransferError;
}

/**
 * Sends files over a connection; the peer runs {@linkcode receiveFiles} with the same wire. A
 * file the receiver refuses (exists, unsafe name, no space, checksum mismatch) fails alone and
 * the others still go; a connection failure fails the file in progress and every later one.
 * Never throws for a failed transfer: look at each result's `ok` and `error`.
 *
 * On the seed wire only one file fits on a connection. Closing the connection is the caller's
 * job (except that a timeout or an abort closes it).
 *
 * Requires `allow-read` permission.
 *
 * @param conn A connected `Deno.Conn` (TCP or unix) on which nothing was read yet.
 * @param paths The files to send.
 * @param options The wire, names, timeout, signal and progress callback.
 * @returns One result per path, in order.
 * @throws {TypeError | RangeError} On bad arguments.
 *
 * @example Sending two files to a receiver on the loopback
 * ```ts
 * import { receiveFiles, sendFiles } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const src = await Deno.makeTempDir();
 * const dst = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/a.txt`, "hello");
 * await Deno.writeFile(`${src}/b.bin`, new Uint8Array(10_000).fill(7));
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const receiving = (async () => {
 *   using conn = await listener.accept();
 *   return await receiveFiles(conn, { dir: dst });
 * })();
 * {
 *   using conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 *   const sent = await sendFiles(conn, [`${src}/a.txt`, `${src}/b.bin`]);
 *   assert.deepEqual(sent.map((r) => r.ok), [true, true]);
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
  conn: Deno.Conn,
  paths: readonly string[],
  options: SendFileOptions = {},
): Promise<FileTransferResult[]> {
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
 * @param conn A connected `Deno.Conn`.
 * @param path The file to send.
 * @param options The wire, timeout, signal and progress callback (`names` may hold one name).
 * @returns The result, `ok`.
 * @throws {FileTransferError} When the transfer failed or the receiver refused the file.
 *
 * @example The tutorial's wire, to a receiver that refuses a file that exists
 * ```ts
 * import { FileTransferError, receiveFile, sendFile } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/src.txt`, "new");
 * await Deno.mkdir(`${dir}/out`);
 * await Deno.writeTextFile(`${dir}/out/src.txt`, "old");
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const receiving = (async () => {
 *   using conn = await listener.accept();
 *   return await receiveFile(conn, { dir: `${dir}/out`, wire: "seed" });
 * })();
 * // watch for the refusal at once: it may come before the send returns
 * const refused = assert.rejects(
 *   receiving,
 *   (e) => e instanceof FileTransferError && e.code === "exists",
 * );
 * {
 *   using conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 *   await sendFile(conn, `${dir}/src.txt`, { wire: "seed" });
 * }
 * await refused;
 * assert.equal(await Deno.readTextFile(`${dir}/out/src.txt`), "old");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @tags allow-net, allow-read
 */
export async function sendFile(
  conn: Deno.Conn,
  path: string,
  options: SendFileOptions = {},
): Promise<FileTransferResult> {
  const [result] = await sendFiles(conn, [path], options);
  if (!result.ok) throw result.error!;
  return result;
}

/**
 * Receives files from a connection into `options.dir` until the sender says it is done (or the
 * connection ends between files, or `maxFiles` arrived). On the seed wire: one file.
 *
 * A refused or corrupt file fails alone (the sender is told, on the sockkit wire); a connection
 * that ends inside a file fails it and ends the session. Never throws for a failed transfer:
 * look at each result's `ok` and `error`.
 *
 * Requires `allow-read` and `allow-write` permissions (for `dir`), and `allow-sys` (`statfs`) for
 * the free-space check (skipped without it; a full disk then fails the write with code `"io"`).
 *
 * @param conn A connected `Deno.Conn` on which nothing was read yet.
 * @param options The directory, wire, overwrite and resume policy, limits, timeout, signal and
 *   progress callback.
 * @returns One result per file offered, in order.
 * @throws {TypeError | RangeError} On bad options.
 *
 * @example A hostile name is refused and nothing is written
 * ```ts
 * import { encodeEnvelopeHeader, ENVELOPE_PRESETS } from "@sockkit/sockkit/framing";
 * import { receiveFiles } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const receiving = (async () => {
 *   using conn = await listener.accept();
 *   return await receiveFiles(conn, { dir, wire: "seed" });
 * })();
 * {
 *   using conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 *   const head = encodeEnvelopeHeader({ filename: "../evil" }, 3, ENVELOPE_PRESETS.python);
 *   await conn.write(new Uint8Array([...head, 1, 2, 3]));
 * }
 * const [result] = await receiving;
 * assert.equal(result.ok, false);
 * assert.equal(result.error?.code, "unsafe-name");
 * assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
 * await Deno.remove(dir);
 * ```
 *
 * @tags allow-net, allow-read, allow-write
 */
export function receiveFiles(
  conn: Deno.Conn,
  options: ReceiveFileOptions = {},
): Promise<FileTransferResult[]> {
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
  });
}

/**
 * Receives one file (see {@linkcode receiveFiles}) and throws when it fails.
 *
 * Requires `allow-read` and `allow-write` permissions (for `dir`).
 *
 * @param conn A connected `Deno.Conn`.
 * @param options The directory, wire, policies, limits, timeout, signal and progress callback.
 * @returns The result, `ok`.
 * @throws {FileTransferError} When the transfer failed, or no file came (code `"protocol"`).
 *
 * @example Receiving on the tutorial's wire
 * ```ts
 * import { receiveFile, sendFile } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/三体.txt`, "黑暗森林");
 * await Deno.mkdir(`${dir}/out`);
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const sending = (async () => {
 *   using conn = await listener.accept();
 *   return await sendFile(conn, `${dir}/三体.txt`, { wire: "seed" });
 * })();
 * using conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const result = await receiveFile(conn, { dir: `${dir}/out`, wire: "seed" });
 * await sending;
 * assert.equal(result.name, "三体.txt");
 * assert.equal(await Deno.readTextFile(`${dir}/out/三体.txt`), "黑暗森林");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @tags allow-net, allow-read, allow-write
 */
export async function receiveFile(
  conn: Deno.Conn,
  options: ReceiveFileOptions = {},
): Promise<FileTransferResult> {
  const [result] = await receiveFiles(conn, { ...options, maxFiles: 1 });
  if (result === undefined) {
    throw new FileTransferError("protocol", "the connection ended before any file was offered");
  }
  if (!result.ok) throw result.error!;
  return result;
}

function checkCommon(options: FileTransferOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  const wire = options.wire ?? "sockkit";
  if (wire !== "sockkit" && wire !== "seed") {
    throw new TypeError(`wire must be "sockkit" or "seed", got ${JSON.stringify(wire)}`);
  }
  const idle = options.idleTimeout ?? 30_000;
  if (typeof idle !== "number" || !(idle >= 0) || !Number.isFinite(idle)) {
    throw new RangeError(`idleTimeout must be a non-negative number of ms, got ${idle}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new TypeError("onProgress must be a function");
  }
}
