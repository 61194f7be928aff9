/**
 * Decoding length-prefixed frames from a byte stream cut at arbitrary points.
 *
 * @module
 */

import { CorruptFrameError, FrameTooLargeError, TruncatedFrameError } from "./errors.ts";
import { FrameFormat, type FrameOptions, resolveFrameFormat } from "./frame_format.ts";

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

const U8 = 0, U16BE = 1, U16LE = 2, U24BE = 3, U32BE = 4, U32LE = 5, I32LE = 6, U64BE = 7;
const VARINT = 8;
const CODES = { u8: U8, u16be: U16BE, u16le: U16LE, u24be: U24BE, u32be: U32BE, u32le: U32LE };
const MORE_CODES = { i32le: I32LE, u64be: U64BE, varint: VARINT };
const FORMAT_CODES: Record<string, number> = { ...CODES, ...MORE_CODES };
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
export class FrameDecoder {
  /** The resolved layout and limit. */
  readonly format: FrameFormat;
  #copy: boolean;
  #code: number;
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
  #error: unknown = undefined;

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
    this.#code = FORMAT_CODES[f.lengthFormat];
    this.#prefix = f.lengthOffset;
    this.#adjust = f.lengthAdjustment - (f.lengthIncludesHeader ? f.lengthOffset + f.fieldSize : 0);
    this.#max = f.maxFrameLength;
    this.#minHeader = f.lengthOffset + (f.fieldSize || 1);
    this.#scratch = new Uint8Array(f.lengthOffset + (f.fieldSize || 10));
  }

  /** How many bytes were pushed and not yet given back as frames. */
  get bufferedLength(): number {
    return this.#buffered;
  }

  /**
   * Feeds a chunk and returns every frame it completes, in order. Empty chunks are fine.
   *
   * @param chunk The next bytes of the stream. Kept by reference: do not modify it afterwards.
   * @returns The completed frames (possibly none).
   * @throws {FrameTooLargeError} When a header declares more than `maxFrameLength`.
   * @throws {CorruptFrameError} When a header cannot be valid.
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
   * @throws {TruncatedFrameError} When the stream ended inside a frame's header or body.
   */
  finish(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#buffered === 0) return;
    const head = this.#gatherHeader();
    const headerBytes = this.#scratch.slice(0, head);
    if (this.#frameLength >= 0) {
      throw new TruncatedFrameError(this.#frameLength, this.#buffered, "body", { headerBytes });
    }
    const expected = this.format.fieldSize ? this.#minHeader : this.#buffered + 1;
    throw new TruncatedFrameError(expected, this.#buffered, "header", { headerBytes });
  }

  #guard(out: Uint8Array[], max: number): void {
    if (this.#error !== undefined) throw this.#error;
    try {
      this.#drain(out, max);
    } catch (error) {
      this.#error = error;
      throw error;
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
    const code = this.#code;
    if (this.#frameLength < 0 && this.#prefix === 0 && !this.#copy && code <= I32LE) {
      // The common layouts: a fixed-size length field first. Kept tight: no calls per frame.
      const size = this.format.fieldSize;
      const adjust = this.#adjust;
      const limit = this.#max;
      let room = max - out.length;
      while (room > 0 && end - pos >= size) {
        let declared: number;
        switch (code) {
          case U32BE:
            declared = chunk[pos] * 0x1000000 +
              ((chunk[pos + 1] << 16) | (chunk[pos + 2] << 8) | chunk[pos + 3]);
            break;
          case U16BE:
            declared = (chunk[pos] << 8) | chunk[pos + 1];
            break;
          case U8:
            declared = chunk[pos];
            break;
          case U16LE:
            declared = chunk[pos] | (chunk[pos + 1] << 8);
            break;
          case U24BE:
            declared = (chunk[pos] << 16) | (chunk[pos + 1] << 8) | chunk[pos + 2];
            break;
          case U32LE:
            declared = chunk[pos + 3] * 0x1000000 +
              ((chunk[pos + 2] << 16) | (chunk[pos + 1] << 8) | chunk[pos]);
            break;
          default: // I32LE
            declared = chunk[pos] | (chunk[pos + 1] << 8) | (chunk[pos + 2] << 16) |
              (chunk[pos + 3] << 24);
        }
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
    let p = pos + this.#prefix;
    let declared: number;
    switch (this.#code) {
      case U8:
        if (p + 1 > end) return 0;
        declared = buf[p];
        p += 1;
        break;
      case U16BE:
        if (p + 2 > end) return 0;
        declared = (buf[p] << 8) | buf[p + 1];
        p += 2;
        break;
      case U16LE:
        if (p + 2 > end) return 0;
        declared = buf[p] | (buf[p + 1] << 8);
        p += 2;
        break;
      case U24BE:
        if (p + 3 > end) return 0;
        declared = (buf[p] << 16) | (buf[p + 1] << 8) | buf[p + 2];
        p += 3;
        break;
      case U32BE:
        if (p + 4 > end) return 0;
        declared = buf[p] * 0x1000000 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]);
        p += 4;
        break;
      case U32LE:
        if (p + 4 > end) return 0;
        declared = buf[p + 3] * 0x1000000 + ((buf[p + 2] << 16) | (buf[p + 1] << 8) | buf[p]);
        p += 4;
        break;
      case I32LE:
        if (p + 4 > end) return 0;
        declared = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
        p += 4;
        if (declared < 0) {
          throw new CorruptFrameError(
            `negative length ${declared} in an i32le header (bytes ${hex(buf, pos, p)})`,
            { headerBytes: buf.slice(pos, p) },
          );
        }
        break;
      case U64BE: {
        if (p + 8 > end) return 0;
        const hi = buf[p] * 0x1000000 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]);
        const lo = buf[p + 4] * 0x1000000 +
          ((buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]);
        declared = hi * 0x100000000 + lo;
        p += 8;
        break;
      }
      default: {
        // Unsigned LEB128: at most 10 bytes, minimal encoding.
        declared = 0;
        let scale = 1;
        let count = 0;
        for (;;) {
          if (p >= end) return 0;
          const byte = buf[p++];
          count++;
          if (count === 10 && byte > 1) {
            throw new CorruptFrameError(
              `varint length longer than 64 bits (bytes ${hex(buf, pos, p)})`,
              { headerBytes: buf.slice(pos, p) },
            );
          }
          declared += (byte & 0x7f) * scale;
          scale *= 0x80;
          if (byte < 0x80) {
            if (byte === 0 && count > 1) {
              throw new CorruptFrameError(
                `overlong (non-minimal) varint length (bytes ${hex(buf, pos, p)})`,
                { headerBytes: buf.slice(pos, p) },
              );
            }
            break;
          }
          if (this.#prefix + declared + this.#adjust > this.#max) {
            // Later bytes can only make it larger: refuse now.
            throw new FrameTooLargeError(
              this.#prefix + declared + this.#adjust,
              this.#max,
              "frame",
              { headerBytes: buf.slice(pos, p) },
            );
          }
        }
      }
    }
    const body = declared + this.#adjust;
    if (body < 0) {
      throw new CorruptFrameError(
        `declared length ${declared} leaves a negative body (${body} bytes) after adjustment`,
        { headerBytes: buf.slice(pos, p) },
      );
    }
    if (this.#prefix + body > this.#max) {
      throw new FrameTooLargeError(this.#prefix + body, this.#max, "frame", {
        headerBytes: buf.slice(pos, Math.min(end, pos + 8)),
      });
    }
    this.#bodyLength = body;
    return p - pos;
  }
}

/**
 * A `TransformStream` that turns a byte stream into frames. The stream errors with
 * {@linkcode TruncatedFrameError} when its input ends inside a frame, and with
 * {@linkcode FrameTooLargeError} or {@linkcode CorruptFrameError} on a bad header.
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
export class FrameDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Makes the stream.
   *
   * @param options The frame layout, the limit and whether to copy.
   */
  constructor(options: FrameDecoderOptions | FrameFormat = {}) {
    const decoder = new FrameDecoder(options);
    super({
      transform(chunk, controller) {
        for (const frame of decoder.push(chunk)) controller.enqueue(frame);
      },
      flush() {
        decoder.finish();
      },
    });
  }
}

function hex(buf: Uint8Array, from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to && i < from + 12; i++) parts.push(buf[i].toString(16).padStart(2, "0"));
  return parts.join(" ") + (to - from > 12 ? " …" : "");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
