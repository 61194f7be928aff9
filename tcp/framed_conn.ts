/**
 * A connection that sends and receives whole messages: length-prefixed frames over a `Deno.Conn`,
 * with whole writes, automatic batching behind a bounded queue, and deadlines.
 *
 * @module
 */

import { FrameBatchEncoder } from "../framing/frame_encoder.ts";
import { FrameFormat, type FrameOptions } from "../framing/frame_format.ts";
import { FrameDecoder } from "../framing/frame_decoder.ts";
import { FrameReader } from "../framing/frame_reader.ts";
import {
  type Envelope,
  type EnvelopeBody,
  envelopeChunks,
  type EnvelopeHeader,
  type EnvelopeOptions,
} from "../framing/envelope.ts";
import { CorruptFrameError, FrameTooLargeError, TruncatedFrameError } from "../framing/errors.ts";
import { TimeoutError } from "./errors.ts";
import { writeAll } from "./write_all.ts";

/** Options of a {@linkcode FramedConn}: framing, deadlines, socket options and buffering. */
export interface FramedConnOptions extends FrameOptions {
  /**
   * Milliseconds without any byte arriving, while waiting to receive, after which the
   * connection is closed and the receive rejects with a {@linkcode TimeoutError} of kind
   * `"idle"`. `Infinity` waits forever.
   *
   * @default {Infinity}
   */
  idleTimeout?: number;
  /**
   * Milliseconds from the first byte of a frame to its last. A peer that sends a header and then
   * stalls (slowloris) is dropped: the connection is closed and the receive rejects with a
   * {@linkcode TimeoutError} of kind `"frame"`. `Infinity` waits forever.
   *
   * @default {Infinity}
   */
  frameTimeout?: number;
  /** Closes the connection when aborted; pending and later operations reject with its reason. */
  signal?: AbortSignal;
  /**
   * Turn Nagle's algorithm off (`TCP_NODELAY`). Deno leaves Nagle on, and Nagle together with the
   * peer's delayed ACK stalls a write-write-read exchange by about 40 ms (44 ms measured here):
   * the second small write waits for the ACK of the first, which the peer delays. sockkit batches
   * small frames itself, so Nagle only adds latency. Ignored on unix sockets.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Turn TCP keepalive probes on or off (`SO_KEEPALIVE`); left as the system has it when not set.
   * Ignored on unix sockets.
   *
   * @default {undefined}
   */
  keepAlive?: boolean;
  /**
   * Bytes queued for writing above which {@linkcode FramedConn.prototype.send} waits until the
   * queue has drained below it again.
   *
   * @default {1048576}
   */
  highWaterMark?: number;
  /**
   * Size of the buffers the connection reads into. A fresh buffer is allocated when the current
   * one is nearly full (a buffer is never reused: received frames are views into it). During a
   * bulk transfer (reads that fill the buffer) the size doubles, up to 16 times this; it returns
   * to this size when reads get small.
   *
   * @default {65536}
   */
  readBufferSize?: number;
}

/**
 * Payloads at least this long are written as header + payload, without being copied. Smaller
 * ones are copied into the batch (memcpy runs at tens of GB/s, far above the socket), which lets
 * `send` resolve at once and the next frames be batched while a write is in flight.
 */
const LARGE_PAYLOAD = 1024 * 1024;
/** A frame missing at least this many bytes is read straight into its own buffer. */
const DIRECT_READ_MIN = 32 * 1024;
const RESOLVED: Promise<void> = Promise.resolve();
const TIMER_MAX = 0x7fffffff;

/** Checks a timeout option: a positive number of milliseconds, or `Infinity`. */
export function checkTimeout(name: string, value: unknown): number {
  if (value === undefined) return Infinity;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of milliseconds, got ${typeof value}`);
  }
  if (!(value > 0)) throw new RangeError(`${name} must be positive, got ${value}`);
  return value > TIMER_MAX ? Infinity : value;
}

function checkSize(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks {@linkcode FramedConnOptions} (used before connecting, so that bad options throw before
 * any socket is made).
 */
export function checkConnOptions(options: FramedConnOptions): {
  format: FrameFormat;
  idleTimeout: number;
  frameTimeout: number;
  highWaterMark: number;
  readBufferSize: number;
  noDelay: boolean;
} {
  const noDelay = options.noDelay ?? true;
  if (typeof noDelay !== "boolean") throw new TypeError("noDelay must be a boolean");
  if (options.keepAlive !== undefined && typeof options.keepAlive !== "boolean") {
    throw new TypeError("keepAlive must be a boolean");
  }
  return {
    format: options instanceof FrameFormat ? options : new FrameFormat(options),
    idleTimeout: checkTimeout("idleTimeout", options.idleTimeout),
    frameTimeout: checkTimeout("frameTimeout", options.frameTimeout),
    highWaterMark: checkSize("highWaterMark", options.highWaterMark, 1024 * 1024, 0),
    readBufferSize: checkSize("readBufferSize", options.readBufferSize, 65536, 64),
    noDelay,
  };
}

type Segment =
  | { batch: FrameBatchEncoder; bytes?: undefined; done?: undefined }
  | {
    batch?: undefined;
    bytes: Uint8Array;
    done?: { resolve: () => void; reject: (e: unknown) => void };
  };

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A framed connection: {@linkcode FramedConn.prototype.send} writes one payload as one frame and
 * {@linkcode FramedConn.prototype.receive} returns exactly one frame, however TCP merged or split
 * the bytes on the way (the sticky-packet problem, 黏包). Made by {@linkcode connectFramed} and
 * {@linkcode listenFramed}, or around any `Deno.Conn` with `new FramedConn(conn)`.
 *
 * **Sending.** `send` copies a small payload into a batch buffer and resolves at once; all frames
 * sent in the same tick (and while the previous write is in flight) go out in one `write`
 * (flush consolidation). When more than `highWaterMark` bytes are queued, `send` waits until the
 * queue drains, so memory stays bounded. A payload of 1 MiB or more is not copied: it is written
 * after its header and `send` resolves once it is written, so do not modify it before then.
 * Write failures reject every later `send`, {@linkcode FramedConn.prototype.flush} and
 * {@linkcode FramedConn.prototype.closeWrite}; call `flush()` to know that everything sent so far
 * reached the kernel. A frame is never left half-written unless the connection failed.
 *
 * **Receiving.** Frames are views into the buffers the socket was read into (no allocation per
 * frame); a read buffer is never reused, so a frame stays valid as long as you keep it.
 * `receive` resolves to `null` at a clean end of the stream, and throws
 * {@linkcode TruncatedFrameError} when the peer stopped (closed or reset) inside a frame. Deno 2.9
 * reports a reset on read as the end of the stream (measured), so a reset between frames looks
 * like a clean close and shows on the next write as `Deno.errors.BrokenPipe`; where the OS does
 * report `ConnectionReset` on read, it becomes the `cause` of the `TruncatedFrameError` (or is
 * thrown as is between frames).
 *
 * **Closing.** {@linkcode FramedConn.prototype.closeWrite} sends EOF after the queued frames
 * (half-close: you can still receive). Note that closing Deno's `conn.readable` or
 * `conn.writable` closes the whole connection, which is why `FramedConn` never uses them.
 * {@linkcode FramedConn.prototype.close} writes the queued frames, then closes;
 * {@linkcode FramedConn.prototype.abort} closes at once and drops them.
 *
 * @example Echo over loopback
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * await using listener = listenFramed({ hostname: "127.0.0.1", port: 0 });
 * const server = (async () => {
 *   await using conn = (await listener.accept())!;
 *   for await (const frame of conn) await conn.send(frame);
 * })();
 * await using client = await connectFramed({ port: listener.addr.port });
 * const text = new TextEncoder();
 * await client.send(text.encode("hello"));
 * await client.send(text.encode("world"));
 * assert.equal(new TextDecoder().decode((await client.receive())!), "hello");
 * assert.equal(new TextDecoder().decode((await client.receive())!), "world");
 * await client.closeWrite();
 * assert.equal(await client.receive(), null);
 * await server;
 * ```
 *
 * @tags allow-net
 */
export class FramedConn implements AsyncDisposable, AsyncIterable<Uint8Array> {
  /** The underlying connection, for raw use. Reading or writing it directly bypasses framing. */
  readonly conn: Deno.Conn;
  /** The frame layout and limit. */
  readonly format: FrameFormat;

  #reader: FrameReader;
  #decoder: FrameDecoder;
  #idleTimeout: number;
  #frameTimeout: number;
  #readBufferSize: number;
  #slab: Uint8Array = new Uint8Array(0);
  #slabPos = 0;
  #slabSize: number;
  #frameStart = -1;
  #direct = false;
  #readError: unknown = undefined;
  #resetError: unknown = undefined;

  #highWaterMark: number;
  #active: FrameBatchEncoder;
  #spare: FrameBatchEncoder[] = [];
  #segments: Segment[] = [];
  #queued = 0;
  #writing = false;
  #writeError: unknown = undefined;
  #drainWaiters: Waiter[] = [];
  #flushWaiters: Waiter[] = [];
  #order: Promise<void> | undefined;
  #writeClosed = false;

  #failure: unknown = undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * Wraps a connection. Sets `noDelay` (and `keepAlive` when given) on TCP connections.
   *
   * @param conn A connected `Deno.Conn` (TCP, unix or TLS).
   * @param options Framing, deadlines and buffering.
   * @throws {TypeError | RangeError} On bad options.
   */
  constructor(conn: Deno.Conn, options: FramedConnOptions = {}) {
    if (conn === null || typeof conn !== "object" || typeof conn.read !== "function") {
      throw new TypeError("conn must be a Deno.Conn");
    }
    this.conn = conn;
    const checked = checkConnOptions(options);
    this.format = checked.format;
    this.#idleTimeout = checked.idleTimeout;
    this.#frameTimeout = checked.frameTimeout;
    this.#highWaterMark = checked.highWaterMark;
    this.#readBufferSize = checked.readBufferSize;
    this.#slabSize = checked.readBufferSize;
    const noDelay = checked.noDelay;
    if (conn.remoteAddr?.transport === "tcp") {
      const tcp = conn as Deno.TcpConn;
      if (noDelay && typeof tcp.setNoDelay === "function") tcp.setNoDelay(true);
      if (options.keepAlive !== undefined && typeof tcp.setKeepAlive === "function") {
        tcp.setKeepAlive(options.keepAlive);
      }
    }
    this.#active = new FrameBatchEncoder(this.format);
    this.#reader = new FrameReader({ read: () => this.#readChunk() }, this.format);
    this.#decoder = new FrameDecoder(this.format);
    const signal = options.signal;
    if (signal !== undefined) {
      if (!(signal instanceof AbortSignal)) throw new TypeError("signal must be an AbortSignal");
      if (signal.aborted) {
        this.#destroy(signal.reason);
      } else {
        this.#signal = signal;
        this.#onAbort = () => this.#destroy(signal.reason);
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
  }

  /** The local address. */
  get localAddr(): Deno.Addr {
    return this.conn.localAddr;
  }

  /** The peer's address (Python's `getpeername`). */
  get remoteAddr(): Deno.Addr {
    return this.conn.remoteAddr;
  }

  /** Bytes queued for writing and not yet written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Whether the connection was closed (by `close`, `abort`, a deadline, a signal or an error). */
  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Receives the next frame. Call it (or iterate) from one place at a time.
   *
   * @returns The frame's payload (a view into a read buffer that is never reused), or `null` at
   *   a clean end of the stream or after this side closed the connection.
   * @throws {TruncatedFrameError} When the peer closed or reset the connection inside a frame.
   * @throws {FrameTooLargeError | CorruptFrameError} When the peer sent a bad header (nothing is
   *   allocated for it); the connection is then closed.
   * @throws {TimeoutError} When the idle or frame deadline expired; the connection is closed.
   * @throws {Deno.errors.ConnectionReset} When the peer reset the connection between frames.
   */
  receive(): Promise<Uint8Array | null> {
    // Fast path: the next frame is already in a buffer that was read.
    if (this.#readError === undefined) {
      let frame: Uint8Array | undefined;
      try {
        frame = this.#decoder.next();
      } catch (error) {
        return Promise.reject(this.#readFailed(error));
      }
      if (frame !== undefined) {
        this.#frameStart = -1;
        return Promise.resolve(frame);
      }
    }
    return this.#receiveSlow();
  }

  async #receiveSlow(): Promise<Uint8Array | null> {
    if (this.#readError !== undefined) throw this.#readError;
    const decoder = this.#decoder;
    try {
      for (;;) {
        const frame = decoder.next();
        if (frame !== undefined) {
          this.#frameStart = -1;
          return frame;
        }
        if (decoder.missingBytes >= DIRECT_READ_MIN && this.#reader.bufferedLength === 0) {
          // a large frame: read the rest of its body straight into its own buffer
          return await this.#receiveDirect();
        }
        // raw chunks come through the FrameReader, which holds what an envelope read ahead
        const chunk = await this.#reader.read();
        if (chunk === null) {
          decoder.finish();
          if (this.#resetError !== undefined) throw this.#resetError;
          return null;
        }
        decoder.feed(chunk);
      }
    } catch (error) {
      throw this.#readFailed(error);
    }
  }

  /**
   * Receives the next envelope: a JSON header, then a body of the declared length, streamed.
   * Read the body to its end (or cancel it) before the next receive.
   *
   * @param options The envelope layout; must match the sender's.
   * @returns The envelope, or `null` at a clean end of the stream.
   * @throws {TruncatedFrameError | FrameTooLargeError | CorruptFrameError | TimeoutError} As
   *   {@linkcode FramedConn.prototype.receive}.
   */
  async receiveEnvelope(options?: EnvelopeOptions): Promise<Envelope | null> {
    if (this.#readError !== undefined) throw this.#readError;
    // hand the bytes read ahead for frames back to the FrameReader
    const rest = this.#decoder.takeBuffered();
    for (let i = rest.length - 1; i >= 0; i--) this.#reader.unread(rest[i]);
    try {
      const envelope = await this.#reader.readEnvelope(options);
      if (envelope === null && this.#resetError !== undefined) throw this.#resetError;
      return envelope;
    } catch (error) {
      throw this.#readFailed(error);
    }
  }

  /**
   * Receives frames until the end of the stream. Leaving the loop early does not close the
   * connection.
   *
   * @returns An iterator of frames.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      next: (): Promise<IteratorResult<Uint8Array>> =>
        this.receive().then((frame) => frame === null ? done : { done: false, value: frame }),
      return: (): Promise<IteratorResult<Uint8Array>> => Promise.resolve(done),
    };
  }

  #readFailed(error: unknown): unknown {
    // misuse (an envelope body still unread) is not a failure of the connection
    if (error instanceof TypeError) return error;
    if (this.#failure !== undefined) {
      error = this.#failure;
    } else if (error instanceof TruncatedFrameError && this.#resetError !== undefined) {
      error = new TruncatedFrameError(error.expected, error.received, error.part, {
        cause: this.#resetError,
      });
    }
    if (
      error instanceof FrameTooLargeError || error instanceof CorruptFrameError ||
      error instanceof TruncatedFrameError
    ) {
      this.#destroy(undefined);
    }
    this.#readError = error;
    return error;
  }

  /** Reads the rest of the pending frame's body into the frame's own buffer. */
  async #receiveDirect(): Promise<Uint8Array> {
    const { payload, filled: start, headerLength } = this.#decoder.takePendingFrame()!;
    const prefix = this.format.lengthOffset;
    let filled = start;
    this.#direct = true;
    try {
      while (filled < payload.length) {
        const n = await this.#readInto(payload.subarray(filled));
        if (n === null) {
          throw new TruncatedFrameError(
            headerLength + payload.length - prefix,
            headerLength + filled - prefix,
            "body",
          );
        }
        filled += n;
      }
    } finally {
      this.#direct = false;
    }
    this.#frameStart = -1;
    return payload;
  }

  async #readChunk(): Promise<Uint8Array | null> {
    if (this.#closed || this.#resetError !== undefined) return null;
    if (this.#slab.length - this.#slabPos < this.#slabSize >>> 2) {
      // a fresh buffer: the old one may still be aliased by frames handed out
      this.#slab = new Uint8Array(this.#slabSize);
      this.#slabPos = 0;
    }
    const start = this.#slabPos;
    const space = this.#slab.length - start;
    const n = await this.#readInto(this.#slab.subarray(start));
    if (n === null) return null;
    // bulk transfer (the read filled all the space): use bigger buffers, fewer reads and fewer
    // frames spanning two buffers; back to the base size when reads get small again
    if (n === space && this.#slabSize < this.#readBufferSize * 16) this.#slabSize *= 2;
    else if (n < this.#readBufferSize >>> 2) this.#slabSize = this.#readBufferSize;
    this.#slabPos = start + n;
    return this.#slab.subarray(start, start + n);
  }

  /** One read from the connection into `target`, under the idle or frame deadline. */
  async #readInto(target: Uint8Array): Promise<number | null> {
    if (this.#closed || this.#resetError !== undefined) return null;
    const read = this.conn.read(target);
    let n: number | null;
    try {
      const wait = this.#deadline();
      n = wait === undefined ? await read : await this.#race(read, wait[0], wait[1]);
    } catch (error) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#closed) return null;
      if (
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted
      ) {
        this.#resetError = error;
        return null;
      }
      throw error;
    }
    return n;
  }

  #deadline(): [number, "idle" | "frame"] | undefined {
    let wait: [number, "idle" | "frame"] | undefined;
    if (this.#idleTimeout !== Infinity) wait = [this.#idleTimeout, "idle"];
    if (this.#frameTimeout !== Infinity) {
      if (this.#decoder.bufferedLength > 0 || this.#direct) {
        // part of a frame is here: the rest must come within frameTimeout from now on
        if (this.#frameStart < 0) this.#frameStart = performance.now();
        const left = Math.max(0, this.#frameStart + this.#frameTimeout - performance.now());
        if (wait === undefined || left < wait[0]) wait = [left, "frame"];
      } else {
        this.#frameStart = -1;
      }
    }
    return wait;
  }

  #race<T>(op: Promise<T>, ms: number, kind: "idle" | "frame"): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timeout = kind === "idle" ? this.#idleTimeout : this.#frameTimeout;
      const timer = setTimeout(() => this.#destroy(new TimeoutError(kind, timeout)), ms);
      op.then((value) => {
        clearTimeout(timer);
        resolve(value);
      }, (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends one payload as one frame. Frames go out in the order of the calls.
   *
   * @param payload The bytes. A payload under 1 MiB is copied at once; a larger one must not be
   *   modified until the returned promise resolves.
   * @returns A promise that resolves when the frame is queued and the queue is below
   *   `highWaterMark` (for a payload of 1 MiB or more: when it is written).
   * @throws {FrameTooLargeError} When the payload is over `maxFrameLength` (nothing is sent).
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} When an earlier write failed.
   */
  send(payload: Uint8Array): Promise<void> {
    if (this.#order !== undefined) return this.#ordered(() => this.#send(payload));
    return this.#send(payload);
  }

  /**
   * Sends an envelope: a JSON header that declares the body's length, then the body, streamed.
   * It is written after every frame already sent; frames sent meanwhile follow it.
   *
   * @param header The header fields.
   * @param body The body: bytes, a `ReadableStream` or an async iterable of chunks.
   * @param bodyLength The body's length; optional for a `Uint8Array` body.
   * @param options The envelope layout; must match the receiver's.
   * @returns A promise that resolves when the whole envelope is written.
   * @throws {RangeError} When a streamed body is shorter or longer than declared; the connection
   *   is then aborted, since the peer would misread everything after it.
   */
  sendEnvelope(
    header: EnvelopeHeader,
    body: EnvelopeBody,
    bodyLength?: number,
    options?: EnvelopeOptions,
  ): Promise<void> {
    return this.#ordered(async () => {
      this.#checkWritable();
      let started = false;
      try {
        for await (const chunk of envelopeChunks(header, body, bodyLength, options)) {
          started = true;
          await this.#sendRaw(chunk);
        }
      } catch (error) {
        if (started) this.#destroy(error);
        throw error;
      }
    }, true);
  }

  /**
   * Waits until every frame sent so far has been written to the socket.
   *
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} When a write failed.
   */
  async flush(): Promise<void> {
    if (this.#order !== undefined) await this.#order;
    if (this.#writeError !== undefined) throw this.#writeError;
    if (!this.#writing && this.#queued === 0) return;
    await new Promise<void>((resolve, reject) => this.#flushWaiters.push({ resolve, reject }));
  }

  /**
   * Half-closes: writes the queued frames, then sends EOF (Python's `shutdown(SHUT_WR)`). The peer
   * receives `null` after the last frame; this side can still receive.
   *
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} When a write failed.
   */
  async closeWrite(): Promise<void> {
    await this.flush();
    if (this.#writeClosed || this.#closed) return;
    this.#writeClosed = true;
    await this.conn.closeWrite();
  }

  #send(payload: Uint8Array): Promise<void> {
    if (!(payload instanceof Uint8Array)) {
      return Promise.reject(new TypeError("payload must be a Uint8Array"));
    }
    const problem = this.#writeProblem();
    if (problem !== undefined) return Promise.reject(problem);
    if (payload.length >= LARGE_PAYLOAD) {
      const format = this.format;
      let header: Uint8Array;
      try {
        header = new Uint8Array(format.headerLength(payload.length));
        format.writeHeader(header, 0, payload);
      } catch (error) {
        return Promise.reject(error);
      }
      const body = format.lengthOffset === 0 ? payload : payload.subarray(format.lengthOffset);
      this.#seal();
      this.#segments.push({ bytes: header });
      const written = new Promise<void>((resolve, reject) => {
        this.#segments.push({ bytes: body, done: { resolve, reject } });
      });
      this.#queued += header.length + body.length;
      this.#kick();
      return written;
    }
    const active = this.#active;
    const before = active.byteLength;
    try {
      active.push(payload);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#queued += active.byteLength - before;
    if (!this.#writing) this.#kick();
    if (this.#queued <= this.#highWaterMark) return RESOLVED;
    return new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  #sendRaw(bytes: Uint8Array): Promise<void> {
    const problem = this.#writeProblem();
    if (problem !== undefined) return Promise.reject(problem);
    this.#seal();
    const written = new Promise<void>((resolve, reject) => {
      this.#segments.push({ bytes, done: { resolve, reject } });
    });
    this.#queued += bytes.length;
    this.#kick();
    return written;
  }

  /** Runs `fn` after every operation queued by earlier calls; later calls wait for it. */
  #ordered<T>(fn: () => Promise<T>, always = false): Promise<T> {
    if (this.#order === undefined && !always) return fn();
    const previous = this.#order ?? RESOLVED;
    const result = previous.then(fn);
    const tail = result.then(() => {}, () => {});
    this.#order = tail;
    tail.then(() => {
      if (this.#order === tail) this.#order = undefined;
    });
    return result;
  }

  #writeProblem(): unknown {
    if (this.#writeError !== undefined) return this.#writeError;
    if (this.#failure !== undefined) return this.#failure;
    if (this.#closed || this.#writeClosed) {
      return new Deno.errors.BadResource("the connection is closed for writing");
    }
    return undefined;
  }

  #checkWritable(): void {
    const problem = this.#writeProblem();
    if (problem !== undefined) throw problem;
  }

  /** Moves the open batch, if it holds frames, to the write queue. */
  #seal(): void {
    if (this.#active.frameCount === 0) return;
    this.#segments.push({ batch: this.#active });
    this.#active = this.#spare.pop() ?? new FrameBatchEncoder(this.format);
  }

  #kick(): void {
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => this.#writeLoop());
  }

  async #writeLoop(): Promise<void> {
    let segment: Segment | undefined;
    try {
      for (;;) {
        segment = this.#segments.shift();
        if (segment === undefined) {
          if (this.#active.frameCount === 0) break;
          this.#seal();
          segment = this.#segments.shift()!;
        }
        if (segment.batch !== undefined) {
          const bytes = segment.batch.flush();
          await writeAll(this.conn, bytes);
          if (this.#spare.length < 2) this.#spare.push(segment.batch);
          this.#wrote(bytes.length);
        } else {
          await writeAll(this.conn, segment.bytes);
          this.#wrote(segment.bytes.length);
          segment.done?.resolve();
        }
        segment = undefined;
      }
    } catch (error) {
      segment?.done?.reject(this.#failure ?? error);
      this.#writeFailed(this.#failure ?? error);
    } finally {
      this.#writing = false;
    }
    if (this.#queued === 0) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }

  #wrote(n: number): void {
    this.#queued -= n;
    if (this.#queued <= this.#highWaterMark && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }

  #writeFailed(error: unknown): void {
    if (this.#writeError === undefined) this.#writeError = error;
    for (const segment of this.#segments) segment.done?.reject(error);
    this.#segments = [];
    this.#active.flush();
    this.#queued = 0;
    const waiters = [...this.#drainWaiters, ...this.#flushWaiters];
    this.#drainWaiters = [];
    this.#flushWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  // ---------------------------------------------------------------- closing

  /**
   * Writes the queued frames, then closes the connection. A pending or later `receive` resolves
   * to `null`. Never throws: call {@linkcode FramedConn.prototype.flush} first to learn whether
   * the queued frames were written. While a peer that does not read keeps the queue full, this
   * waits; {@linkcode FramedConn.prototype.abort} closes at once.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      try {
        await this.flush();
      } catch {
        // reported by flush() and send(); close() only closes
      }
      this.#destroy(undefined);
      await this.#settled();
    })();
  }

  /**
   * Closes the connection at once, dropping queued frames. Pending and later operations reject
   * with `reason` (when given) or see a closed connection.
   *
   * @param reason Why, handed to pending operations.
   */
  abort(reason?: unknown): void {
    this.#destroy(reason);
  }

  /** Same as {@linkcode FramedConn.prototype.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #destroy(reason: unknown): void {
    if (reason !== undefined && this.#failure === undefined && !this.#closed) {
      this.#failure = reason;
    }
    if (this.#closed) return;
    this.#closed = true;
    if (this.#signal !== undefined && this.#onAbort !== undefined) {
      this.#signal.removeEventListener("abort", this.#onAbort);
    }
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#writeFailed(
      this.#failure ?? new Deno.errors.BadResource("the connection was closed"),
    );
  }

  async #settled(): Promise<void> {
    // Lets the write loop observe the closed socket before close() resolves.
    while (this.#writing) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
