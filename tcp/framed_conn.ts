/**
 * A connection that sends and receives whole messages: length-prefixed frames over a `Deno.Conn`,
 * with whole writes, automatic batching behind a bounded queue, deadlines and a bounded memory
 * budget.
 *
 * @module
 */

import type { FrameFormat } from "../framing/frame_format.ts";
import {
  type Envelope,
  type EnvelopeBody,
  envelopeChunks,
  type EnvelopeHeader,
  type EnvelopeOptions,
} from "../framing/envelope.ts";
import { checkConnOptions, type FramedConnOptions } from "./conn_options.ts";
import { ReadSide } from "./read_side.ts";
import { DelimitedReadSide } from "./delimited_read_side.ts";
import { WriteQueue } from "./write_queue.ts";
import { frameReadable, frameWritable } from "./conn_streams.ts";
import { ENVELOPES_NEED_LENGTH, FrameReceiver } from "./frame_receiver.ts";

export type { FramedConnOptions, Framing } from "./conn_options.ts";

/** TLS handshakes started when a `FramedConn` wrapped a `Deno.TlsConn` (see serveFramed). */
const handshakes = new WeakMap<FramedConn, Promise<void>>();

/**
 * The TLS handshake of a connection, started when it was wrapped (a plain connection: resolved).
 *
 * @param conn The connection.
 * @returns Resolves when the handshake is done; rejects when it failed.
 */
export function tlsHandshakeOf(conn: FramedConn): Promise<void> {
  return handshakes.get(conn) ?? Promise.resolve();
}

/**
 * A framed connection: {@linkcode FramedConn.prototype.send} writes one payload as one frame and
 * {@linkcode FramedConn.prototype.receive} returns exactly one frame, however TCP merged or split
 * the bytes on the way (the sticky-packet problem, 黏包). Made by {@linkcode connectFramed} and
 * {@linkcode listenFramed}, or around any `Deno.Conn` with `new FramedConn(conn)`.
 *
 * **Framing.** Length prefixes by default; with the `framing` option (`"line"`, `"crlf"`, `"lf"`,
 * `"nul"` or {@linkcode DelimiterOptions}) a delimiter after every frame instead, under the same
 * guarantees below: `send` refuses a payload holding the delimiter
 * ({@linkcode DelimiterInPayloadError}, nothing written), `receive` returns a line without its
 * delimiter (a view of the read buffer when it arrived in one read; an unfinished line's bytes
 * are kept, at most `maxFrameLength` of them, instead of a declared length), and envelopes are
 * refused with a `TypeError`.
 *
 * **Sending.** `send` copies a small payload into a batch buffer and resolves at once; all frames
 * sent in the same tick (and while the previous write is in flight) go out in one `write`
 * (flush consolidation). When more than `highWaterMark` bytes are queued, `send` waits until the
 * queue drains, so memory stays bounded. A payload of 1 MiB or more is not copied: it is written
 * after its header and `send` resolves once it is written, so do not modify it before then.
 * Write failures reject every later `send`, {@linkcode FramedConn.prototype.flush} and
 * {@linkcode FramedConn.prototype.closeWrite}; call `flush()` to know that everything sent so far
 * reached the kernel. A frame is never left half-written unless the connection failed. With
 * `writeTimeout`, a peer that takes no bytes for that long is dropped.
 *
 * **Receiving.** A frame is a view of memory the connection never writes again: keep it as long
 * as you like (unless you ask for `reuseBuffers`: then a frame is valid until the next receive,
 * and nothing is allocated per frame). Small frames share one read buffer (`readBufferSize`, 64 KiB by default) and keep
 * it alive while any of them is kept (`slice()` one to keep it alone); a large frame has a buffer
 * of its own. `receive` resolves to `null` at a clean end of the stream, and throws
 * {@linkcode TruncatedFrameError} when the peer stopped (closed or reset) inside a frame. One
 * receive at a time: a second call while one waits throws a `TypeError` at once. Deno 2.9 reports
 * a reset on read as the end of the stream (measured), so a reset between frames looks like a
 * clean close and shows on the next write as `Deno.errors.BrokenPipe`; where the OS does report
 * `ConnectionReset` on read, it becomes the `cause` of the `TruncatedFrameError` (or is thrown as
 * is between frames).
 *
 * **Memory budget.** Per connection: one read buffer (`readBufferSize`, growing up to 16 times
 * during bulk reads), plus, while a frame is unfinished, at most its declared length
 * (≤ `maxFrameLength`, allocated once its header arrived, never per read), plus the send queue
 * (≤ `highWaterMark` + the frame being queued). A peer that trickles a frame one byte per read
 * costs no more than one that sends it at once.
 *
 * **Closing.** {@linkcode FramedConn.prototype.closeWrite} sends EOF after the queued frames
 * (half-close: you can still receive). Note that closing Deno's `conn.readable` or
 * `conn.writable` closes the whole connection, which is why `FramedConn` never uses them.
 * {@linkcode FramedConn.prototype.close} writes the queued frames, then closes;
 * {@linkcode FramedConn.prototype.abort} closes at once and drops them. After either, as with a
 * closed `DatagramSocket`, a receive that was waiting rejects with `Deno.errors.Interrupted`, a
 * later one with `Deno.errors.BadResource`, and `for await` loops end quietly.
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
  /**
   * The length-prefix layout and the limit (under delimiter framing, only its `maxFrameLength`
   * applies).
   */
  readonly format: FrameFormat;
  /** `"length"` (length prefixes) or `"delimiter"` (the `framing` option named delimiters). */
  readonly framing: "length" | "delimiter";

  #read: ReadSide | DelimitedReadSide;
  #receiver: FrameReceiver;
  #write: WriteQueue;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  #writeClosed = false;
  #failure: unknown = undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * Wraps a connection. Sets `noDelay` (and `keepAlive` when given) on TCP connections; starts
   * the handshake of a TLS connection at once.
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
    if (conn.remoteAddr?.transport === "tcp") {
      const tcp = conn as Deno.TcpConn;
      if (checked.noDelay && typeof tcp.setNoDelay === "function") tcp.setNoDelay(true);
      if (checked.keepAlive !== undefined && typeof tcp.setKeepAlive === "function") {
        tcp.setKeepAlive(checked.keepAlive);
      }
    }
    const onTimeout = (error: unknown) => this.#destroy(error);
    const delimiters = checked.delimiters;
    this.framing = delimiters === undefined ? "length" : "delimiter";
    this.#read = delimiters === undefined
      ? new ReadSide(conn, { ...checked, onTimeout })
      : new DelimitedReadSide(conn, { ...checked, delimiters, onTimeout });
    this.#write = new WriteQueue(conn, { ...checked, onTimeout });
    const state = { closed: () => this.#closed, failure: () => this.#failure };
    this.#receiver = new FrameReceiver(this.#read, {
      get closed() {
        return state.closed();
      },
      get failure() {
        return state.failure();
      },
      destroy: () => this.#destroy(undefined),
    });
    const tls = conn as Partial<Deno.TlsConn>;
    if (typeof tls.handshake === "function") {
      // Deno closes a TLS connection whose handshake never started only when the peer acts:
      // start it now, so that a deadline can end it
      const started = tls.handshake.call(conn).then(() => {});
      started.catch(() => {});
      handshakes.set(this, started);
    }
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
    return this.#write.queuedBytes;
  }

  /**
   * Bytes read from the peer so far, headers included (a server's handshake pool drops the
   * connection that has sent the least first).
   */
  get receivedBytes(): number {
    return this.#read.receivedBytes;
  }

  /** Bytes received and not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.#read.bufferedLength;
  }

  /**
   * Under delimiter framing with `oversize: "discard"`: how many frames over `maxFrameLength`
   * were dropped so far, and their bytes (delimiters included). Always zero otherwise.
   */
  get discarded(): { frames: number; bytes: number } {
    return this.#read instanceof DelimitedReadSide ? this.#read.discarded : { frames: 0, bytes: 0 };
  }

  /** Whether the connection was closed (by `close`, `abort`, a deadline, a signal or an error). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The frames received, as a stream (like `Deno.Conn.readable`, but in whole frames). It pulls
   * one frame at a time (no read-ahead beyond the read buffer), under the same deadlines; it
   * closes at the end of the stream and errors as `receive` throws. Cancelling it closes the
   * connection. Use either this or `receive`, not both.
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= frameReadable(this);
  }

  /**
   * A stream that sends every chunk written to it as one frame. Its backpressure is the send
   * queue's: `desiredSize` is `highWaterMark` minus the bytes queued, and a write waits while the
   * queue is full. Closing it half-closes the connection (like `closeWrite`); aborting it aborts
   * the connection.
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= frameWritable(this, this.#write);
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Receives the next frame. One receive at a time: call it (or iterate) from one place.
   *
   * @returns The frame's payload (a view of memory the connection never writes again; with
   *   `reuseBuffers`, valid until the next receive), or
   *   `null` at a clean end of the stream.
   * @throws {TypeError} When another receive is still waiting, or an envelope's body is unread.
   * @throws {TruncatedFrameError} When the peer closed or reset the connection inside a frame.
   * @throws {FrameTooLargeError | CorruptFrameError} When the peer sent a bad header (nothing is
   *   allocated for it); the connection is then closed.
   * @throws {TimeoutError} When the idle or frame deadline expired; the connection is closed.
   * @throws {Deno.errors.Interrupted} When this side closed the connection while it waited.
   * @throws {Deno.errors.BadResource} When called after this side closed the connection.
   * @throws {Deno.errors.ConnectionReset} When the peer reset the connection between frames.
   */
  receive(): Promise<Uint8Array | null> {
    return this.#receiver.receive();
  }

  /**
   * Receives the next envelope: a JSON header, then a body of the declared length, streamed.
   * Read the body to its end (or cancel it) before the next receive. Body chunks, like frames,
   * are views of memory the connection never writes again.
   *
   * @param options The envelope layout; must match the sender's.
   * @returns The envelope, or `null` at a clean end of the stream.
   * @throws {TruncatedFrameError | FrameTooLargeError | CorruptFrameError | TimeoutError} As
   *   {@linkcode FramedConn.prototype.receive}.
   */
  receiveEnvelope(options?: EnvelopeOptions): Promise<Envelope | null> {
    if (this.framing !== "length") return Promise.reject(new TypeError(ENVELOPES_NEED_LENGTH));
    return this.#receiver.receiveEnvelope(options);
  }

  /**
   * Reads the next bytes of the envelope body being received (from
   * {@linkcode FramedConn.prototype.receiveEnvelope}) straight into `target`, instead of
   * through `envelope.body`: nothing is allocated and no read buffer is handed out, so a bulk
   * body (a file) costs no memory beyond the caller's own buffer. Use either this or
   * `envelope.body` for one body, not both.
   *
   * @param target Where the bytes go.
   * @returns How many bytes were read (at most the body's rest), or `null` once the whole body
   *   was read.
   * @throws {TypeError} When no envelope body is being received.
   * @throws {TruncatedFrameError} When the stream ended inside the body.
   * @throws {TimeoutError} When the idle deadline expired; the connection is closed.
   *
   * @example A body read into one buffer
   * ```ts
   * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
   * import assert from "node:assert/strict";
   *
   * // Requires `allow-net` permission.
   * await using listener = listenFramed({ port: 0 });
   * await using client = await connectFramed({ port: listener.addr.port });
   * await using server = (await listener.accept())!;
   * await client.sendEnvelope({ name: "x" }, new Uint8Array([1, 2, 3, 4, 5]));
   * const envelope = (await server.receiveEnvelope())!;
   * const buffer = new Uint8Array(envelope.bodyLength);
   * let filled = 0;
   * for (let n; (n = await server.readBodyInto(buffer.subarray(filled))) !== null;) filled += n;
   * assert.deepEqual(buffer, new Uint8Array([1, 2, 3, 4, 5]));
   * ```
   */
  readBodyInto(target: Uint8Array): Promise<number | null> {
    if (this.framing !== "length") return Promise.reject(new TypeError(ENVELOPES_NEED_LENGTH));
    return this.#receiver.readBodyInto(target);
  }

  /**
   * Receives frames until the end of the stream, or until this side closes the connection.
   * Leaving the loop early does not close the connection.
   *
   * @returns An iterator of frames.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      next: (): Promise<IteratorResult<Uint8Array>> =>
        this.receive().then(
          (frame) => frame === null ? done : { done: false, value: frame },
          (error) => {
            if (this.#closed && this.#failure === undefined && isClosedHere(error)) return done;
            throw error;
          },
        ),
      return: (): Promise<IteratorResult<Uint8Array>> => Promise.resolve(done),
    };
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
   * @throws {TimeoutError} Of kind `"write"`, when the peer took no bytes for `writeTimeout`.
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} When an earlier write failed.
   */
  send(payload: Uint8Array): Promise<void> {
    return this.#write.send(payload);
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
    if (this.framing !== "length") return Promise.reject(new TypeError(ENVELOPES_NEED_LENGTH));
    return this.#write.sendChunks(
      envelopeChunks(header, body, bodyLength, options),
      (error) => this.#destroy(error),
    );
  }

  /**
   * Waits until every frame sent so far has been written to the socket.
   *
   * @throws {TimeoutError} Of kind `"write"`, when the peer took no bytes for `writeTimeout`.
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} When a write failed.
   */
  flush(): Promise<void> {
    return this.#write.flush();
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
    this.#write.close();
    await this.conn.closeWrite();
  }

  // ---------------------------------------------------------------- closing

  /**
   * Writes the queued frames, then closes the connection. Never throws: call
   * {@linkcode FramedConn.prototype.flush} first to learn whether the queued frames were written.
   * A peer that does not read can make this wait up to `writeTimeout`;
   * {@linkcode FramedConn.prototype.abort} closes at once. Closing twice is fine.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      try {
        await this.flush();
      } catch {
        // reported by flush() and send(); close() only closes
      }
      this.#destroy(undefined);
      await this.#write.settled();
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
    this.#read.stop();
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#write.fail(this.#failure ?? new Deno.errors.BadResource("the connection was closed"));
  }
}

/** Whether an error only says that this side closed the connection. */
function isClosedHere(error: unknown): boolean {
  return error instanceof Deno.errors.Interrupted || error instanceof Deno.errors.BadResource;
}
