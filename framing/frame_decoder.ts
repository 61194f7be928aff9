/**
 * Decoding length-prefixed frames from a byte stream cut at arbitrary points.
 *
 * @module
 */

import { DecoderStream, type StreamDecoder } from "./decoder_stream.ts";
import {
  CorruptFrameError,
  type FrameError,
  FrameTooLargeError,
  TruncatedFrameError,
} from "./errors.ts";
import { FrameFormat, type FrameOptions, resolveFrameFormat } from "./frame_format.ts";
import { fieldLength, hex, LENGTH_FIELDS, type LengthField } from "./length_field.ts";

/** Options of {@linkcode FrameDecoder} and {@linkcode FrameDecoderStream}. */
export interface FrameDecoderOptions extends FrameOptions {
  /**
   * Copy every frame into a buffer of its own. By default a frame that lies inside one input chunk
   * comes out as a `subarray` view of that chunk (no allocation): it aliases the chunk, so the
   * chunk must not be modified or reused while the frame is in use. Turn this on when the input
   * buffer is reused, or to let the chunk be collected while a small frame is kept.
   *
   * @default {false}
   */
  copy?: boolean;
}

const EMPTY = new Uint8Array(0);
/** Frames assembled from several chunks, up to this size, are carved out of a shared slab. */
const SLAB_FRAME_MAX = 256 * 1024;
const SLAB_SIZE = 1024 * 1024;

/**
 * An incremental decoder of length-prefixed frames. Feed it chunks as they arrive, cut anywhere;
 * it gives back whole frames.
 *
 * Speed: the hot path allocates nothing per frame. A frame that lies inside one input chunk comes
 * out as a `subarray` view of that chunk (see {@linkcode FrameDecoderOptions.copy}); a frame that
 * spans chunks is copied once, after the size limit was checked, into memory sized from its header
 * (frames up to 256 KiB are carved out of a shared 1 MiB slab, larger ones get a buffer of their
 * own). Pushed chunks are kept by reference until their bytes are decoded: do not modify them.
 *
 * @example Frames split and merged across chunks
 * ```ts
 * import { encodeFrame, FrameDecoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const text = new TextEncoder();
 * const stream = new Uint8Array([
 *   ...encodeFrame(text.encode("hello")),
 *   ...encodeFrame(text.encode("world")),
 * ]);
 * const decoder = new FrameDecoder();
 * const frames = [...decoder.push(stream.subarray(0, 7)), ...decoder.push(stream.subarray(7))];
 * assert.deepEqual(frames.map((f) => new TextDecoder().decode(f)), ["hello", "world"]);
 * decoder.finish(); // nothing left over
 * ```
 */
export class FrameDecoder implements StreamDecoder {
  /** The resolved layout and limit. */
  readonly format: FrameFormat;
  #copy: boolean;
  #field: LengthField;
  #prefix: number;
  #adjust: number;
  #max: number;
  #minHeader: number;
  #chunks: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;
  #frameLength = -1;
  #headerLength = 0;
  #bodyLength = 0;
  #scratch: Uint8Array;
  #slab: Uint8Array = EMPTY;
  #slabUsed = 0;
  #error: FrameError | undefined = undefined;
  /** Whether `next` may take its short cut: a fixed-size field first, views. */
  #fast: boolean;
  /** The largest body a fixed-size field may declare (a negative `i32le` fails it too). */
  #limit: number;

  /**
   * Makes a decoder.
   *
   * @param options The frame layout, the limit and whether to copy.
   * @throws {TypeError | RangeError} On bad options.
   */
  constructor(options: FrameDecoderOptions | FrameFormat = {}) {
    this.format = resolveFrameFormat(options);
    const copy = options instanceof FrameFormat ? false : options.copy ?? false;
    if (typeof copy !== "boolean") throw new TypeError("copy must be a boolean");
    this.#copy = copy;
    const f = this.format;
    this.#field = LENGTH_FIELDS[f.lengthFormat];
    this.#prefix = f.lengthOffset;
    this.#adjust = f.lengthAdjustment - (f.lengthIncludesHeader ? f.lengthOffset + f.fieldSize : 0);
    this.#max = f.maxFrameLength;
    this.#minHeader = f.lengthOffset + (f.fieldSize || 1);
    this.#scratch = new Uint8Array(f.lengthOffset + (f.fieldSize || 10));
    this.#fast = !copy && this.#prefix === 0 && this.#field.size !== 0;
    this.#limit = Math.min(this.#max, this.#field.max + this.#adjust);
  }

  /** How many bytes were pushed and not yet given back as frames. */
  get bufferedLength(): number {
    return this.#buffered;
  }

  /**
   * The fault found in the stream (a header over the limit or corrupt), kept until it is thrown;
   * `undefined` while the stream is sound. See {@linkcode FrameDecoder.prototype.push}.
   */
  get error(): FrameError | undefined {
    return this.#error;
  }

  /**
   * Feeds a chunk and returns every frame it completes, in order. Empty chunks are fine.
   *
   * Every complete frame before a fault reaches the caller: when the chunk holds good frames and
   * then a bad header, they are returned and the fault is kept in
   * {@linkcode FrameDecoder.prototype.error}, to be thrown by the next `push`, `next` or
   * `finish`. When the bad header comes first, this call throws.
   *
   * @param chunk The next bytes of the stream. Kept by reference: do not modify it afterwards.
   * @returns The completed frames (possibly none).
   * @throws {FrameTooLargeError} When a header declares more than `maxFrameLength`.
   * @throws {CorruptFrameError} When a header cannot be valid.
   *
   * @example Good frames before a bad header are returned, the fault comes next
   * ```ts
   * import { encodeFrames, FrameDecoder, FrameTooLargeError } from "@sockkit/sockkit/framing";
   * import assert from "node:assert/strict";
   *
   * const good = encodeFrames([new Uint8Array([1]), new Uint8Array([2])]);
   * const decoder = new FrameDecoder({ maxFrameLength: 100 });
   * const frames = decoder.push(new Uint8Array([...good, 0xff, 0xff, 0xff, 0xff]));
   * assert.deepEqual(frames, [new Uint8Array([1]), new Uint8Array([2])]);
   * assert.ok(decoder.error instanceof FrameTooLargeError);
   * assert.throws(() => decoder.finish(), FrameTooLargeError);
   * ```
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.feed(chunk);
    const out: Uint8Array[] = [];
    this.#guard(out, 0x7fffffff);
    return out;
  }

  /**
   * Feeds a chunk without decoding; pull frames with {@linkcode FrameDecoder.prototype.next}.
   *
   * @param chunk The next bytes of the stream. Kept by reference: do not modify it afterwards.
   */
  feed(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`expected a Uint8Array chunk, got ${describe(chunk)}`);
    }
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * Decodes the next frame from what was fed, if it is complete.
   *
   * @returns The next frame, or `undefined` when more bytes are needed.
   * @throws {FrameTooLargeError | CorruptFrameError} On a bad header.
   */
  next(): Uint8Array | undefined {
    if (this.#buffered === 0) return undefined;
    if (
      this.#fast && this.#chunks.length === 1 && this.#frameLength < 0 &&
      this.#error === undefined
    ) {
      // one frame whole inside the one chunk, a fixed-size field first: no array, no calls
      const chunk = this.#chunks[0];
      const pos = this.#offset;
      const end = chunk.length;
      const size = this.#field.size;
      const declared = this.#field.read(chunk, pos, end, this.#limit);
      const body = declared + this.#adjust;
      if (declared >= 0 && body >= 0 && body <= this.#limit && end - pos >= size + body) {
        const next = pos + size + body;
        if (next === end) {
          this.#chunks.length = 0;
          this.#offset = 0;
          this.#buffered = 0;
        } else {
          this.#offset = next;
          this.#buffered = end - next;
        }
        return chunk.subarray(pos + size, next);
      }
      // anything else (a partial frame, a bad header) takes the general path
    }
    const out: Uint8Array[] = [];
    this.#guard(out, 1);
    return out[0];
  }

  /**
   * Takes back the bytes that were fed but not decoded (views, in order), and resets the decoder
   * to a frame boundary. Used to hand the rest of a stream to another reader, e.g. after a frame
   * that announced raw bytes.
   *
   * @returns The undecoded bytes.
   */
  takeBuffered(): Uint8Array[] {
    const rest = this.#chunks;
    if (rest.length > 0 && this.#offset > 0) rest[0] = rest[0].subarray(this.#offset);
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    this.#frameLength = -1;
    return rest;
  }

  /**
   * How many bytes the frame whose header was decoded still misses, or 0 when no header is
   * pending. With {@linkcode FrameDecoder.prototype.takePendingFrame}, a transport can read a
   * large frame's body straight into the frame's own buffer instead of into read buffers that
   * are then copied.
   */
  get missingBytes(): number {
    return this.#frameLength < 0 ? 0 : this.#frameLength - this.#buffered;
  }

  /**
   * Takes the frame whose header was decoded but whose body is incomplete: returns a new payload
   * buffer sized from the header (the limit was checked) with the bytes that arrived so far
   * copied in, and resets the decoder to the next frame boundary. The caller reads the remaining
   * `payload.length - filled` bytes of the stream into `payload.subarray(filled)`: they are the
   * rest of this frame.
   *
   * @returns The payload, how many of its bytes are filled and the header's length, or
   *   `undefined` when no frame is pending (see {@linkcode FrameDecoder.prototype.missingBytes}).
   *
   * @example Reading the rest of a large frame directly
   * ```ts
   * import { encodeFrame, FrameDecoder } from "@sockkit/sockkit/framing";
   * import assert from "node:assert/strict";
   *
   * const wire = encodeFrame(new Uint8Array(1000).fill(7));
   * const decoder = new FrameDecoder();
   * assert.deepEqual(decoder.push(wire.subarray(0, 100)), []);
   * assert.equal(decoder.missingBytes, 904);
   * const { payload, filled } = decoder.takePendingFrame()!;
   * assert.equal(filled, 96);
   * payload.set(wire.subarray(100), filled); // in real life: conn.read(payload.subarray(filled))
   * assert.deepEqual(payload, new Uint8Array(1000).fill(7));
   * assert.equal(decoder.bufferedLength, 0);
   * ```
   */
  takePendingFrame(): { payload: Uint8Array; filled: number; headerLength: number } | undefined {
    if (this.#error !== undefined) throw this.#error;
    if (this.#frameLength < 0 || this.#buffered >= this.#frameLength) return undefined;
    const head = this.#headerLength;
    const payload = new Uint8Array(this.#prefix + this.#frameLength - head);
    this.#copyOut(payload, 0, 0, this.#prefix);
    const body = this.#buffered - head;
    this.#copyOut(payload, this.#prefix, head, body);
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    this.#frameLength = -1;
    return { payload, filled: this.#prefix + body, headerLength: head };
  }

  /**
   * Declares the end of the stream.
   *
   * @returns The complete frames fed but not yet pulled with `next` (none after `push`).
   * @throws {TruncatedFrameError} When the stream ended inside a frame's header or body. As with
   *   `push`, when complete frames come before it they are returned and the next call throws.
   */
  finish(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#guard(out, 0x7fffffff);
    if (this.#error !== undefined || this.#buffered === 0) return out;
    const head = this.#gatherHeader();
    const headerBytes = this.#scratch.slice(0, head);
    const expected = this.#frameLength >= 0
      ? this.#frameLength
      : this.format.fieldSize
      ? this.#minHeader
      : this.#buffered + 1;
    const part = this.#frameLength >= 0 ? "body" : "header";
    this.#error = new TruncatedFrameError(expected, this.#buffered, part, { headerBytes });
    if (out.length === 0) throw this.#error;
    return out;
  }

  #guard(out: Uint8Array[], max: number): void {
    if (this.#error !== undefined) throw this.#error;
    try {
      this.#drain(out, max);
    } catch (error) {
      this.#error = error as FrameError;
      // The frames decoded before the fault are the caller's; the fault waits for the next call.
      if (out.length === 0) throw error;
    }
  }

  #drain(out: Uint8Array[], max: number): void {
    while (out.length < max && this.#buffered > 0) {
      if (this.#chunks.length === 1) {
        this.#fastPath(out, max);
        return;
      }
      // The next frame may span several chunks.
      if (this.#frameLength < 0) {
        const n = this.#gatherHeader();
        const head = this.#parseHeader(this.#scratch, 0, n);
        if (head === 0) return;
        this.#headerLength = head;
        this.#frameLength = head + this.#bodyLength;
      }
      if (this.#buffered < this.#frameLength) return;
      out.push(this.#assemble());
      this.#frameLength = -1;
    }
  }

  /** Decodes from the single buffered chunk; frames inside it come out as views. */
  #fastPath(out: Uint8Array[], max: number): void {
    const chunk = this.#chunks[0];
    const end = chunk.length;
    let pos = this.#offset;
    if (this.#frameLength >= 0) {
      // A header parsed earlier, waiting for its body.
      if (end - pos >= this.#frameLength) {
        out.push(this.#extract(chunk, pos, this.#headerLength, this.#frameLength));
        pos += this.#frameLength;
        this.#frameLength = -1;
      }
    }
    const field = this.#field;
    if (this.#frameLength < 0 && this.#prefix === 0 && !this.#copy && field.size !== 0) {
      // The common layouts: a fixed-size length field first. Kept tight: no allocation per frame.
      const size = field.size;
      const read = field.read;
      const adjust = this.#adjust;
      // A value above the field's range (a negative i32le) fails this check too.
      const limit = Math.min(this.#max, field.max + adjust);
      let room = max - out.length;
      while (room > 0) {
        const declared = read(chunk, pos, end, limit);
        if (declared < 0) break;
        const body = declared + adjust;
        if (body < 0 || body > limit) {
          this.#parseHeader(chunk, pos, end); // throws the precise error
        }
        const total = size + body;
        if (end - pos < total) {
          this.#bodyLength = body;
          this.#headerLength = size;
          this.#frameLength = total;
          break;
        }
        out.push(chunk.subarray(pos + size, pos + total));
        pos += total;
        room--;
      }
    } else {
      while (out.length < max && pos < end && this.#frameLength < 0) {
        const head = this.#parseHeader(chunk, pos, end);
        if (head === 0) break;
        const total = head + this.#bodyLength;
        if (end - pos < total) {
          this.#headerLength = head;
          this.#frameLength = total;
          break;
        }
        out.push(this.#extract(chunk, pos, head, total));
        pos += total;
      }
    }
    if (pos === end) {
      this.#chunks.length = 0;
      this.#offset = 0;
      this.#buffered = 0;
    } else {
      this.#buffered = end - pos;
      this.#offset = pos;
    }
  }

  #extract(chunk: Uint8Array, pos: number, head: number, total: number): Uint8Array {
    if (this.#prefix === 0) {
      return this.#copy
        ? chunk.slice(pos + head, pos + total)
        : chunk.subarray(pos + head, pos + total);
    }
    const frame = new Uint8Array(this.#prefix + total - head);
    frame.set(chunk.subarray(pos, pos + this.#prefix), 0);
    frame.set(chunk.subarray(pos + head, pos + total), this.#prefix);
    return frame;
  }

  /** Copies the first bytes buffered (up to a full header) into the scratch buffer. */
  #gatherHeader(): number {
    const scratch = this.#scratch;
    let n = 0;
    let offset = this.#offset;
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length - offset, scratch.length - n);
      scratch.set(chunk.subarray(offset, offset + take), n);
      n += take;
      offset = 0;
      if (n === scratch.length) break;
    }
    return n;
  }

  /** Takes the frame at the front of the buffered chunks out of them. */
  #assemble(): Uint8Array {
    const total = this.#frameLength;
    const head = this.#headerLength;
    const first = this.#chunks[0];
    const start = this.#offset;
    let frame: Uint8Array;
    if (first.length - start >= total && this.#prefix === 0) {
      frame = this.#copy
        ? first.slice(start + head, start + total)
        : first.subarray(start + head, start + total);
    } else {
      frame = this.#allocate(this.#prefix + total - head);
      this.#copyOut(frame, 0, 0, this.#prefix);
      this.#copyOut(frame, this.#prefix, head, total - head);
    }
    this.#consume(total);
    return frame;
  }

  /**
   * Memory for a frame assembled from several chunks. In Deno every `new Uint8Array` costs about
   * a microsecond plus zero-filling, so frames up to 256 KiB are carved out of a 1 MiB slab, the
   * way Node's `Buffer` pool does (like views of input chunks, such a frame keeps its slab alive;
   * `copy: true` gives every frame a buffer of its own).
   */
  #allocate(size: number): Uint8Array {
    if (this.#copy || size > SLAB_FRAME_MAX) return new Uint8Array(size);
    if (this.#slab.length - this.#slabUsed < size) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      this.#slabUsed = 0;
    }
    const frame = this.#slab.subarray(this.#slabUsed, this.#slabUsed + size);
    this.#slabUsed += size;
    return frame;
  }

  /** Copies `length` buffered bytes, starting `from` bytes in, into `target` at `at`. */
  #copyOut(target: Uint8Array, at: number, from: number, length: number): void {
    let skip = from + this.#offset;
    for (const chunk of this.#chunks) {
      if (length === 0) return;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const take = Math.min(chunk.length - skip, length);
      target.set(chunk.subarray(skip, skip + take), at);
      at += take;
      length -= take;
      skip = 0;
    }
  }

  #consume(n: number): void {
    this.#buffered -= n;
    let i = 0;
    let offset = this.#offset + n;
    while (i < this.#chunks.length && offset >= this.#chunks[i].length) {
      offset -= this.#chunks[i].length;
      i++;
    }
    if (i > 0) this.#chunks.splice(0, i);
    this.#offset = this.#chunks.length === 0 ? 0 : offset;
  }

  /**
   * Parses a header at `pos`. Returns its length and sets `#bodyLength`, or returns 0 when more
   * bytes are needed.
   */
  #parseHeader(buf: Uint8Array, pos: number, end: number): number {
    const field = this.#field;
    const p = pos + this.#prefix;
    const declared = field.read(buf, p, end, this.#max - this.#prefix - this.#adjust);
    if (declared < 0) return 0;
    const stop = p + (field.size || fieldLength(field, declared));
    if (declared > field.max && field.signed) {
      throw new CorruptFrameError(
        `negative length ${declared - 0x100000000} in an i32le header (bytes ${
          hex(buf, pos, stop)
        })`,
        { headerBytes: buf.slice(pos, stop) },
      );
    }
    const body = declared + this.#adjust;
    if (body < 0) {
      throw new CorruptFrameError(
        `declared length ${declared} leaves a negative body (${body} bytes) after adjustment`,
        { headerBytes: buf.slice(pos, stop) },
      );
    }
    if (this.#prefix + body > this.#max || declared > field.max) {
      throw new FrameTooLargeError(this.#prefix + body, this.#max, "frame", {
        headerBytes: buf.slice(pos, Math.min(end, pos + 8)),
      });
    }
    this.#bodyLength = body;
    return stop - pos;
  }
}

/**
 * A stream that turns bytes into frames, for `pipeThrough` (it has the shape of a
 * `TransformStream<Uint8Array, Uint8Array>`). Every complete frame reaches the reader; then the
 * readable side errors with {@linkcode TruncatedFrameError} when the input ended inside a frame,
 * or with {@linkcode FrameTooLargeError} or {@linkcode CorruptFrameError} on a bad header.
 *
 * @example Decoding a stream
 * ```ts
 * import { encodeFrames, FrameDecoderStream } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeFrames([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * const frames = await Array.fromAsync(
 *   ReadableStream.from([bytes.subarray(0, 3), bytes.subarray(3)]).pipeThrough(new FrameDecoderStream()),
 * );
 * assert.deepEqual(frames, [new Uint8Array([1]), new Uint8Array([2, 3])]);
 * ```
 */
export class FrameDecoderStream extends DecoderStream {
  /**
   * Makes the stream.
   *
   * @param options The frame layout, the limit and whether to copy.
   */
  constructor(options: FrameDecoderOptions | FrameFormat = {}) {
    super(new FrameDecoder(options));
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
