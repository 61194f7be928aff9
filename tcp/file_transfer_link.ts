/**
 * Internal plumbing of file transfer: one connection with whole writes, a frame reader that owns
 * every chunk it reads, an idle watchdog and abort handling; plus file hashing and free space.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { statfsSync } from "node:fs";
import { CorruptFrameError, FrameTooLargeError, TruncatedFrameError } from "../framing/errors.ts";
import { FrameReader } from "../framing/frame_reader.ts";
import { encodeFrame } from "../framing/frame_encoder.ts";
import { writeAll } from "./write_all.ts";
import { FileTransferError } from "./file_transfer_error.ts";

/**
 * Size of each socket read. The frame reader keeps views of what it reads, so a buffer is reused
 * only when {@linkcode Link.prototype.recycle} gives it back after its last use (large reads
 * otherwise leave garbage that the GC frees too late for the RSS budget).
 */
export const READ_SIZE: number = 256 * 1024;

/** Read buffers kept for reuse. */
const POOL_SIZE = 4;

/** Largest control frame (offer, reply, acknowledgement). */
export const MAX_CONTROL_FRAME: number = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A connection driven by file transfer. Not exported from the package. */
export class Link {
  readonly conn: Deno.Conn;
  readonly reader: FrameReader;
  #idleTimeout: number;
  #waiting = 0;
  #last = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #failure: FileTransferError | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.fail(new FileTransferError("aborted", "the transfer was aborted"));
  #pool: Uint8Array[] = [];
  /** Chunks handed out whole by the reader → the buffer each one views. */
  #lent = new WeakMap<Uint8Array, Uint8Array>();

  constructor(conn: Deno.Conn, idleTimeout: number, signal?: AbortSignal) {
    this.conn = conn;
    this.#idleTimeout = idleTimeout;
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // not a TCP connection
    }
    this.reader = new FrameReader({
      read: () =>
        this.#wait(async () => {
          const buffer = this.#pool.pop() ?? new Uint8Array(READ_SIZE);
          const n = await conn.read(buffer);
          if (n === null) {
            this.#pool.push(buffer);
            return null;
          }
          if (n < READ_SIZE / 4) {
            const copy = buffer.slice(0, n);
            this.#pool.push(buffer);
            return copy;
          }
          const chunk = buffer.subarray(0, n);
          this.#lent.set(chunk, buffer);
          return chunk;
        }),
    }, { maxFrameLength: MAX_CONTROL_FRAME });
    if (idleTimeout > 0) {
      this.#timer = setInterval(() => {
        if (this.#waiting > 0 && Date.now() - this.#last > this.#idleTimeout) {
          this.fail(
            new FileTransferError(
              "timeout",
              `no progress for ${this.#idleTimeout} ms (idle timeout); the connection was closed`,
            ),
          );
        }
      }, Math.max(10, Math.min(1000, idleTimeout / 4)));
    }
    this.#signal = signal;
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The failure that closed the connection (timeout, abort), if any. */
  get failure(): FileTransferError | undefined {
    return this.#failure;
  }

  /** Records a fatal failure and closes the connection so every pending operation ends. */
  fail(error: FileTransferError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  /** Throws the recorded failure, if any. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #wait<T>(op: () => Promise<T>): Promise<T> {
    this.check();
    this.#waiting++;
    this.#last = Date.now();
    try {
      return await op();
    } catch (error) {
      throw this.#failure ?? error;
    } finally {
      this.#waiting--;
      this.#last = Date.now();
    }
  }

  /**
   * Takes back a chunk the reader handed out, once nothing uses it any more; only chunks that
   * came through whole (the very object the socket read made, not a piece of it) are reused.
   */
  recycle(chunk: Uint8Array): void {
    const buffer = this.#lent.get(chunk);
    if (buffer === undefined) return;
    this.#lent.delete(chunk);
    if (this.#pool.length < POOL_SIZE) this.#pool.push(buffer);
  }

  /** Writes all bytes. */
  write(bytes: Uint8Array): Promise<void> {
    return this.#wait(() => writeAll(this.conn, bytes));
  }

  /** Sends a JSON control frame. */
  sendJson(value: Record<string, unknown>): Promise<void> {
    return this.write(encodeFrame(encoder.encode(JSON.stringify(value))));
  }

  /** Reads a JSON control frame; `null` at a clean end of the stream. */
  async readJson(): Promise<Record<string, unknown> | null> {
    const frame = await this.reader.readFrame();
    if (frame === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(frame));
    } catch (cause) {
      throw new FileTransferError("protocol", "the peer sent a control frame that is not JSON", {
        cause,
      });
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new FileTransferError(
        "protocol",
        "the peer sent a control frame that is not an object",
      );
    }
    return value as Record<string, unknown>;
  }

  /** Stops the watchdog and the abort listener. Does not close the connection. */
  dispose(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

/**
 * Turns anything thrown during a transfer into a {@linkcode FileTransferError}.
 */
export function toTransferError(error: unknown, link?: Link): FileTransferError {
  if (link?.failure !== undefined) return link.failure;
  if (error instanceof FileTransferError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TruncatedFrameError) {
    return new FileTransferError(
      "truncated",
      `the connection ended early: ${message}`,
      { cause: error },
    );
  }
  if (error instanceof FrameTooLargeError) {
    return new FileTransferError("too-large", message, { cause: error });
  }
  if (error instanceof CorruptFrameError) {
    return new FileTransferError("bad-header", message, { cause: error });
  }
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof
  ) {
    return new FileTransferError("connection", `connection failed: ${message}`, { cause: error });
  }
  if (error instanceof Deno.errors.NotFound) {
    return new FileTransferError("not-found", message, { cause: error });
  }
  return new FileTransferError("io", message, { cause: error });
}

/** A fresh incremental SHA-256. */
export function newHash(): Hash {
  return createHash("sha256");
}

/** Chunk size for reading files. */
export const FILE_CHUNK: number = 1024 * 1024;

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

/** Free bytes for unprivileged users on the file system of `dir`, or `undefined` if unknown. */
export function freeSpace(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
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

/** Removes a file, ignoring "not found". */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** `lstat`, or `undefined` when nothing is there. */
export async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
