/**
 * The write side of a framed connection: frames batched behind a bounded queue, written whole,
 * in the order of the calls, under a write deadline.
 *
 * @module
 */

import { FrameBatchEncoder } from "../framing/frame_encoder.ts";
import type { FrameFormat } from "../framing/frame_format.ts";
import { Deadline } from "./deadline.ts";
import { TimeoutError } from "./errors.ts";
import { type PartialWriter, writeAll } from "./write_all.ts";
import type { ResolvedDelimiters } from "../framing/delimiter_format.ts";
import { DelimiterBatch, DelimiterFraming, type FrameBatch } from "./delimiter_batch.ts";

/**
 * Payloads at least this long are written as header + payload, without being copied. Smaller
 * ones are copied into the batch (memcpy runs at tens of GB/s, far above the socket), which lets
 * `send` resolve at once and the next frames be batched while a write is in flight.
 */
export const LARGE_PAYLOAD = 1024 * 1024;
/**
 * A batch buffer starts this small (an idle connection holds little) and doubles as frames
 * come; the two kept for reuse keep their size.
 */
const FIRST_BATCH = 1024;
/**
 * A large payload's header goes out with the payload's first bytes (copied, at most this many
 * in all), not as a tiny write of its own that would be a packet of its own.
 */
const LARGE_HEAD = 64 * 1024;
const RESOLVED: Promise<void> = Promise.resolve();

type Segment =
  | {
    batch: FrameBatch;
    bytes?: undefined;
    done?: undefined;
    header?: undefined;
    trailer?: undefined;
  }
  | {
    batch?: undefined;
    bytes: Uint8Array;
    done?: Waiter;
    header?: Uint8Array;
    trailer?: Uint8Array;
  };

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Settings of a {@linkcode WriteQueue}. */
export interface WriteQueueOptions {
  /** The frame layout and limit. */
  format: FrameFormat;
  /** Frames ended by a delimiter instead of length-prefixed (`undefined`: length prefixes). */
  delimiters?: ResolvedDelimiters;
  /** Queued bytes above which `send` waits. */
  highWaterMark: number;
  /** Milliseconds one `write` may wait for the peer to take bytes (`Infinity`: no limit). */
  writeTimeout: number;
  /** Called when the write deadline passes: close the connection (the write then fails). */
  onTimeout: (error: TimeoutError) => void;
}

/**
 * Queues frames and raw chunks and writes them in order with as few `write` calls as possible:
 * small frames sent while a write is in flight are copied into one batch buffer and go out in
 * the next write (flush consolidation); large payloads are written after their header without a
 * copy. Memory is bounded: above `highWaterMark` queued bytes, `send` waits for the queue to
 * drain. After a failure (a write error, a deadline, {@linkcode WriteQueue.prototype.fail}) every
 * pending and later operation rejects with the first error.
 */
export class WriteQueue {
  #writer: PartialWriter;
  #format: FrameFormat;
  #delimited: DelimiterFraming | undefined;
  #highWaterMark: number;
  #active: FrameBatch;
  #spare: FrameBatch[] = [];
  #segments: Segment[] = [];
  #queued = 0;
  #writing = false;
  #error: unknown = undefined;
  #closed = false;
  #drainWaiters: Waiter[] = [];
  #flushWaiters: Waiter[] = [];
  #order: Promise<void> | undefined;
  #head: Uint8Array | undefined;
  #deadline: Deadline;

  /**
   * Makes the queue.
   *
   * @param writer Where the bytes go (a `Deno.Conn`, or a scripted writer in tests).
   * @param options The format, the high-water mark and the write deadline.
   */
  constructor(writer: PartialWriter, options: WriteQueueOptions) {
    this.#format = options.format;
    this.#highWaterMark = options.highWaterMark;
    const ms = options.writeTimeout;
    const deadline = this.#deadline = new Deadline(() =>
      options.onTimeout(new TimeoutError("write", ms))
    );
    this.#writer = ms === Infinity ? writer : {
      async write(p) {
        deadline.arm(ms);
        try {
          return await writer.write(p);
        } finally {
          deadline.disarm();
        }
      },
    };
    if (options.delimiters !== undefined) {
      this.#delimited = new DelimiterFraming(options.delimiters);
    }
    this.#active = this.#newBatch();
  }

  /** Bytes queued and not yet written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** The high-water mark, in bytes. */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  /** Whether a write is in flight. */
  get writing(): boolean {
    return this.#writing;
  }

  /** Why writing is impossible, or `undefined` when it is possible. */
  get problem(): unknown {
    if (this.#error !== undefined) return this.#error;
    if (this.#closed) return new Deno.errors.BadResource("the connection is closed for writing");
    return undefined;
  }

  /**
   * Queues one payload as one frame, after everything queued before.
   *
   * @param payload The bytes; copied unless at least {@linkcode LARGE_PAYLOAD} long.
   * @returns Resolves when queued below the high-water mark (a large payload: when written).
   */
  send(payload: Uint8Array): Promise<void> {
    if (this.#order !== undefined) return this.#ordered(() => this.#send(payload));
    return this.#send(payload);
  }

  /**
   * Queues raw chunks (an envelope) after everything queued before; frames queued meanwhile
   * follow them. When the chunks fail after the first was queued, `onBroken` runs: the peer
   * would misread what follows.
   *
   * @param chunks The chunks, in order.
   * @param onBroken Called with the error when the chunks fail part-way.
   * @returns Resolves when every chunk is written.
   */
  sendChunks(
    chunks: AsyncIterable<Uint8Array>,
    onBroken: (error: unknown) => void,
  ): Promise<void> {
    return this.#ordered(async () => {
      this.#check();
      let started = false;
      try {
        for await (const chunk of chunks) {
          started = true;
          await this.#sendRaw(chunk);
        }
      } catch (error) {
        if (started) onBroken(error);
        throw error;
      }
    }, true);
  }

  /** Resolves when everything queued so far is written; rejects after a failure. */
  async flush(): Promise<void> {
    if (this.#order !== undefined) await this.#order;
    if (this.#error !== undefined) throw this.#error;
    if (!this.#writing && this.#queued === 0) return;
    await new Promise<void>((resolve, reject) => this.#flushWaiters.push({ resolve, reject }));
  }

  /** Refuses later sends (after a half-close); what is queued is still written. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Drops what is queued and rejects every pending and later operation with `error` (or with
   * the first error, when writing had already failed).
   *
   * @param error Why.
   */
  fail(error: unknown): void {
    this.#deadline.stop();
    if (this.#error === undefined) this.#error = error;
    error = this.#error;
    for (const segment of this.#segments) segment.done?.reject(error);
    this.#segments = [];
    this.#active.flush();
    this.#queued = 0;
    const waiters = [...this.#drainWaiters, ...this.#flushWaiters];
    this.#drainWaiters = [];
    this.#flushWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Resolves once no write is in flight (after a failure, once the write loop has noticed). */
  async settled(): Promise<void> {
    while (this.#writing) await new Promise((resolve) => setTimeout(resolve, 0));
  }

  #send(payload: Uint8Array): Promise<void> {
    if (!(payload instanceof Uint8Array)) {
      return Promise.reject(new TypeError("payload must be a Uint8Array"));
    }
    const problem = this.problem;
    if (problem !== undefined) return Promise.reject(problem);
    if (payload.length >= LARGE_PAYLOAD) return this.#sendLarge(payload);
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

  #sendLarge(payload: Uint8Array): Promise<void> {
    if (this.#delimited !== undefined) return this.#sendLargeDelimited(payload);
    const format = this.#format;
    let header: Uint8Array;
    try {
      header = new Uint8Array(format.headerLength(payload.length));
      format.writeHeader(header, 0, payload);
    } catch (error) {
      return Promise.reject(error);
    }
    const body = format.lengthOffset === 0 ? payload : payload.subarray(format.lengthOffset);
    this.#seal();
    const written = new Promise<void>((resolve, reject) => {
      this.#segments.push({ bytes: body, header, done: { resolve, reject } });
    });
    this.#queued += header.length + body.length;
    this.#kick();
    return written;
  }

  #sendLargeDelimited(payload: Uint8Array): Promise<void> {
    const { encoder, delimiter } = this.#delimited!;
    try {
      encoder.check(payload);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#seal();
    const written = new Promise<void>((resolve, reject) => {
      this.#segments.push({ bytes: payload, trailer: delimiter, done: { resolve, reject } });
    });
    this.#queued += payload.length + delimiter.length;
    this.#kick();
    return written;
  }

  #newBatch(): FrameBatch {
    return this.#delimited === undefined
      ? new FrameBatchEncoder(this.#format, FIRST_BATCH)
      : new DelimiterBatch(this.#delimited, FIRST_BATCH);
  }

  #sendRaw(bytes: Uint8Array): Promise<void> {
    const problem = this.problem;
    if (problem !== undefined) return Promise.reject(problem);
    this.#seal();
    const written = new Promise<void>((resolve, reject) => {
      this.#segments.push({ bytes, done: { resolve, reject } });
    });
    this.#queued += bytes.length;
    this.#kick();
    return written;
  }

  #check(): void {
    const problem = this.problem;
    if (problem !== undefined) throw problem;
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

  /** Moves the open batch, if it holds frames, to the write queue. */
  #seal(): void {
    if (this.#active.frameCount === 0) return;
    this.#segments.push({ batch: this.#active });
    this.#active = this.#spare.pop() ?? this.#newBatch();
  }

  #kick(): void {
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => this.#writeLoop());
  }

  async #writeLoop(): Promise<void> {
    let segment: Segment | undefined;
    try {
      while ((segment = this.#next()) !== undefined) {
        if (segment.batch !== undefined) {
          const bytes = segment.batch.flush();
          await writeAll(this.#writer, bytes);
          if (this.#spare.length < 2) this.#spare.push(segment.batch);
          this.#wrote(bytes.length);
        } else {
          let bytes = segment.bytes;
          const header = segment.header;
          if (header !== undefined) {
            // the header and the payload's first bytes in one write (only this loop uses #head)
            const n = Math.min(bytes.length, LARGE_HEAD - header.length);
            this.#head ??= new Uint8Array(LARGE_HEAD);
            this.#head.set(header);
            this.#head.set(bytes.subarray(0, n), header.length);
            await writeAll(this.#writer, this.#head.subarray(0, header.length + n));
            this.#wrote(header.length + n);
            bytes = bytes.subarray(n);
          }
          const trailer = segment.trailer;
          if (trailer !== undefined) {
            // the payload's last bytes and the delimiter in one write, not a tiny one of its own
            const n = Math.min(bytes.length, LARGE_HEAD - trailer.length);
            const body = bytes.length - n;
            await writeAll(this.#writer, bytes.subarray(0, body));
            this.#wrote(body);
            this.#head ??= new Uint8Array(LARGE_HEAD);
            this.#head.set(bytes.subarray(body));
            this.#head.set(trailer, n);
            bytes = this.#head.subarray(0, n + trailer.length);
          }
          await writeAll(this.#writer, bytes);
          this.#wrote(bytes.length);
          segment.done?.resolve();
        }
      }
    } catch (error) {
      segment?.done?.reject(this.#error ?? error);
      this.fail(this.#error ?? error);
    } finally {
      this.#writing = false;
    }
    if (this.#queued === 0) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }

  #next(): Segment | undefined {
    if (this.#error !== undefined) return undefined;
    const segment = this.#segments.shift();
    if (segment !== undefined || this.#active.frameCount === 0) return segment;
    this.#seal();
    return this.#segments.shift();
  }

  #wrote(n: number): void {
    this.#queued -= n;
    if (this.#queued <= this.#highWaterMark && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }
}
