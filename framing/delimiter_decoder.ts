/**
 * Decoding delimited frames (lines, NUL-terminated records, any delimiter set) from a byte stream
 * cut at arbitrary points.
 *
 * @module
 */

import { DecoderStream, type StreamDecoder } from "./decoder_stream.ts";
import { type FrameError, FrameTooLargeError, TruncatedFrameError } from "./errors.ts";
import {
  type DelimiterOptions,
  type ResolvedDelimiters,
  resolveDelimiters,
} from "./delimiter_format.ts";
import { HeldBytes } from "./held_bytes.ts";

/** Options of {@linkcode DelimiterDecoder} and {@linkcode DelimiterDecoderStream}. */
export interface DelimiterDecoderOptions extends DelimiterOptions {
  /**
   * Copy every frame into a buffer of its own. By default a frame that lies inside one input chunk
   * comes out as a `subarray` view of it: do not modify or reuse the chunk while the frame is used.
   *
   * @default {false}
   */
  copy?: boolean;
}

/**
 * An incremental decoder of delimited frames. Feed it chunks as they arrive, cut anywhere; it
 * gives back the frames without their delimiters.
 *
 * - **Linear time however the input is cut**: each byte is looked at once; scanning resumes where
 *   it stopped (a delimiter cut across chunks is matched by looking back at most the longest
 *   delimiter's length). A single-byte delimiter, or a set ending in one byte (LF and CRLF), is
 *   searched with a short plain loop, then the native `indexOf`.
 * - **Zero-copy**: a frame inside one chunk is a `subarray` view of it; the bytes of a frame
 *   across chunks are copied as they come into a buffer of the frame's own (grown by doubling),
 *   so a peer trickling one byte per read costs bytes, not one kept chunk object per byte.
 * - **Bounded memory**: `maxFrameLength` is checked before a chunk is kept; see
 *   {@linkcode DelimiterOptions.oversize} for what happens to an oversize frame.
 * - Every frame before a fault reaches the caller (see {@linkcode StreamDecoder}).
 *
 * Chunks given to `feed` are kept by reference until they are decoded, and frames may be views
 * of them: do not modify them.
 *
 * @example Lines cut across chunks, CRLF split between CR and LF
 * ```ts
 * import { DELIMITER_PRESETS, DelimiterDecoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("PING\r\nSET k v\r\n");
 * const decoder = new DelimiterDecoder(DELIMITER_PRESETS.crlf);
 * const frames = [...decoder.push(bytes.subarray(0, 5)), ...decoder.push(bytes.subarray(5))];
 * assert.deepEqual(frames.map((f) => new TextDecoder().decode(f)), ["PING", "SET k v"]);
 * decoder.finish(); // nothing left over
 * ```
 *
 * @example An endless line: fail fast, or discard it and go on
 * ```ts
 * import { DelimiterDecoder, FrameTooLargeError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const strict = new DelimiterDecoder({ maxFrameLength: 8 });
 * assert.throws(() => strict.push(new Uint8Array(100).fill(0x61)), FrameTooLargeError);
 *
 * const lenient = new DelimiterDecoder({ maxFrameLength: 8, oversize: "discard" });
 * assert.deepEqual(lenient.push(new Uint8Array(100).fill(0x61)), []);
 * assert.equal(lenient.bufferedLength, 0); // nothing kept
 * const next = lenient.push(new TextEncoder().encode("aaa\nok\n"));
 * assert.deepEqual(next, [new TextEncoder().encode("ok")]);
 * assert.deepEqual(lenient.discarded, { frames: 1, bytes: 104 });
 * ```
 */
export class DelimiterDecoder implements StreamDecoder {
  #d: ResolvedDelimiters;
  #copy: boolean;
  /** Chunks fed and not yet scanned to their end; `#pos` is the scan position in the first. */
  #queue: Uint8Array[] = [];
  #pos = 0;
  /** Where the current frame's bytes in the first queued chunk start (earlier ones are held). */
  #start = 0;
  /** Earlier chunks' bytes of the current frame (only the last few while discarding). */
  #held = new HeldBytes();
  /** Bytes of the current frame before the first queued chunk, held or discarded. */
  #frameBytes = 0;
  #discarding = false;
  #buffered = 0;
  #discardedFrames = 0;
  #discardedBytes = 0;
  #error: FrameError | undefined = undefined;
  #matched = 0;
  /** 1: one single-byte delimiter; 2: the `line` preset; 0: neither (see `#fastPath`). */
  #fast = 0;

  /**
   * Makes a decoder.
   *
   * @param options The delimiters, the limit, the policies and whether to copy.
   * @throws {TypeError | RangeError} On bad options.
   */
  constructor(options: DelimiterDecoderOptions = {}) {
    this.#d = resolveDelimiters(options);
    const copy = options.copy ?? false;
    if (typeof copy !== "boolean") throw new TypeError("copy must be a boolean");
    this.#copy = copy;
    const [a, b] = this.#d.delimiters;
    if (!copy && b === undefined && a.length === 1) this.#fast = 1;
    const line = b !== undefined && this.#d.delimiters.length === 2 && a.length === 2 &&
      a[0] === 0x0d && a[1] === 0x0a && b.length === 1 && b[0] === 0x0a;
    if (!copy && line) this.#fast = 2;
  }

  /** Bytes fed and not yet given back as frames nor discarded. */
  get bufferedLength(): number {
    return this.#buffered;
  }

  /**
   * Whether the decoder is inside a frame: bytes of an unfinished frame arrived (kept, or being
   * discarded as part of an oversize frame). A transport times a frame from here.
   */
  get inFrame(): boolean {
    return this.#discarding || this.#buffered > 0;
  }

  /** How many oversize frames (and their bytes, delimiters included) were discarded so far. */
  get discarded(): { frames: number; bytes: number } {
    return { frames: this.#discardedFrames, bytes: this.#discardedBytes };
  }

  /** The fault found (an oversize frame under `oversize: "error"`), kept until thrown. */
  get error(): FrameError | undefined {
    return this.#error;
  }

  /**
   * Feeds a chunk and returns every frame it completes, in order. Frames before a fault are
   * returned and the fault is thrown by the next call (see {@linkcode StreamDecoder}).
   *
   * @param chunk The next bytes. Kept by reference: do not modify it afterwards.
   * @returns The completed frames, without delimiters.
   * @throws {FrameTooLargeError} When a frame is over `maxFrameLength` and `oversize` is `"error"`.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.feed(chunk);
    const out: Uint8Array[] = [];
    if (this.#fast !== 0 && this.#queue.length === 1 && this.#frameBytes === 0) {
      this.#fastPath(chunk, out);
    }
    try {
      for (let frame = this.#decode(); frame !== undefined; frame = this.#decode()) {
        out.push(frame);
      }
    } catch (error) {
      // The frames before the fault are the caller's; the fault (kept) waits for the next call.
      if (out.length === 0) throw error;
    }
    return out;
  }

  /**
   * Feeds a chunk without decoding; pull frames with {@linkcode DelimiterDecoder.prototype.next}.
   *
   * @param chunk The next bytes. Kept by reference: do not modify it afterwards.
   */
  feed(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("expected a Uint8Array chunk");
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame of what was fed.
   *
   * @returns The frame, or `undefined` when more bytes are needed.
   * @throws {FrameTooLargeError} On an oversize frame under `oversize: "error"`.
   */
  next(): Uint8Array | undefined {
    return this.#decode();
  }

  /**
   * Declares the end of the stream.
   *
   * @returns The frames still buffered: complete ones fed but not pulled, then, with
   *   `unterminated: "frame"`, the bytes after the last delimiter.
   * @throws {TruncatedFrameError} When bytes follow the last delimiter and `unterminated` is
   *   `"error"` (`expected` counts one delimiter more than `received`). As with `push`, when
   *   frames come before the fault they are returned and the next call throws.
   * @throws {FrameTooLargeError} When the bytes after the last delimiter are over the limit.
   */
  finish(): Uint8Array[] {
    const out: Uint8Array[] = [];
    try {
      for (let frame = this.#decode(); frame !== undefined; frame = this.#decode()) {
        out.push(frame);
      }
      const rest = this.#finishRest();
      if (rest !== undefined) out.push(rest);
    } catch (error) {
      if (out.length === 0) throw error;
    }
    return out;
  }

  #finishRest(): Uint8Array | undefined {
    const length = this.#frameBytes;
    if (this.#discarding) {
      this.#discardRest();
      return undefined;
    }
    if (length === 0) return undefined;
    if (this.#d.unterminated === "error") {
      const shortest = this.#d.delimiters[this.#d.delimiters.length - 1].length;
      this.#error = new TruncatedFrameError(length + shortest, length, "body");
      throw this.#error;
    }
    if (length > this.#d.maxFrameLength) {
      if (this.#d.oversize === "error") this.#fail(length);
      this.#discarding = true;
      this.#discardRest();
      return undefined;
    }
    const frame = this.#held.take(length, this.#copy);
    this.#resetFrame();
    this.#buffered = 0;
    return frame;
  }

  #discardRest(): void {
    this.#discard(this.#held.length);
    this.#resetFrame();
  }

  /**
   * The common layouts (one single-byte delimiter, or the `line` preset), for the frames that lie
   * inside the chunk: a byte search, views, nothing else per frame. Leaves the rest (an oversize
   * frame, a frame running past the chunk) to the general path.
   */
  #fastPath(chunk: Uint8Array, out: Uint8Array[]): void {
    const byte = this.#d.commonLast;
    const stripCr = this.#fast === 2;
    const max = this.#d.maxFrameLength;
    let start = this.#start;
    for (let i = findByte(chunk, byte, start); i !== -1; i = findByte(chunk, byte, i + 1)) {
      const end = stripCr && i > start && chunk[i - 1] === 0x0d ? i - 1 : i;
      if (end - start > max) break;
      out.push(chunk.subarray(start, end));
      start = i + 1;
    }
    this.#buffered -= start - this.#start;
    this.#pos = this.#start = start;
    if (start === chunk.length) this.#shift();
  }

  /** Finds the next frame, or `undefined`; throws (and keeps) an oversize fault. */
  #decode(): Uint8Array | undefined {
    if (this.#error !== undefined) throw this.#error;
    const queue = this.#queue;
    while (queue.length > 0) {
      const chunk = queue[0];
      const end = this.#findEnd(chunk, this.#pos);
      if (end < 0) {
        this.#keepRest(chunk);
        continue;
      }
      const frame = this.#takeFrame(chunk, end, this.#matched);
      if (frame !== undefined) return frame;
    }
    return undefined;
  }

  /** Index of the last byte of the first delimiter ending at or after `from`, or −1. */
  #findEnd(chunk: Uint8Array, from: number): number {
    const last = this.#d.commonLast;
    if (last >= 0) {
      for (let i = findByte(chunk, last, from); i !== -1; i = findByte(chunk, last, i + 1)) {
        if (this.#matchAt(chunk, i)) return i;
      }
      return -1;
    }
    const endsWith = this.#d.endsWith;
    for (let i = from; i < chunk.length; i++) {
      if (endsWith[chunk[i]] === 1 && this.#matchAt(chunk, i)) return i;
    }
    return -1;
  }

  /** Whether a delimiter ends at `chunk[i]` within the current frame; sets `#matched`. */
  #matchAt(chunk: Uint8Array, i: number): boolean {
    const delimiters = this.#d.delimiters;
    if (delimiters.length === 1 && delimiters[0].length === 1) {
      this.#matched = 1;
      return true;
    }
    const start = this.#start;
    const inFrame = i - start + 1 + this.#frameBytes;
    for (const d of delimiters) {
      const n = d.length;
      if (d[n - 1] !== chunk[i] || n > inFrame) continue;
      let j = 1;
      for (; j < n; j++) {
        const at = i - j;
        const byte = at >= start ? chunk[at] : this.#heldByte(start - at);
        if (byte !== d[n - 1 - j]) break;
      }
      if (j === n) {
        this.#matched = n;
        return true;
      }
    }
    return false;
  }

  /** The `back`-th byte from the end of the held bytes (1 = the last). */
  #heldByte(back: number): number {
    return this.#held.byteBack(back);
  }

  /** A delimiter of `n` bytes ends at `chunk[end]`: takes the frame before it. */
  #takeFrame(chunk: Uint8Array, end: number, n: number): Uint8Array | undefined {
    const start = this.#start;
    const length = this.#frameBytes + end - start + 1 - n;
    const remaining = this.#held.length + end - start + 1;
    if (this.#discarding || length > this.#d.maxFrameLength) {
      if (!this.#discarding && this.#d.oversize === "error") this.#fail(length);
      this.#discarding = true;
      this.#discard(remaining);
      this.#resetFrame();
    } else {
      let frame: Uint8Array;
      if (this.#frameBytes === 0) {
        frame = this.#copy
          ? chunk.slice(start, start + length)
          : chunk.subarray(start, start + length);
      } else {
        const inChunk = length - this.#frameBytes;
        if (inChunk > 0) this.#held.append(chunk.subarray(start, start + inChunk));
        frame = this.#held.take(length, this.#copy);
        this.#resetFrame();
      }
      this.#buffered -= remaining;
      this.#advance(chunk, end);
      return frame;
    }
    this.#advance(chunk, end);
    return undefined;
  }

  #advance(chunk: Uint8Array, end: number): void {
    this.#pos = this.#start = end + 1;
    if (end + 1 === chunk.length) this.#shift();
  }

  #resetFrame(): void {
    if (this.#discarding) this.#discardedFrames++;
    this.#discarding = false;
    this.#held.clear();
    this.#frameBytes = 0;
  }

  /** No delimiter in the rest of the first chunk: keep it (checking the limit first). */
  #keepRest(chunk: Uint8Array): void {
    const rest = chunk.length - this.#start;
    const frameBytes = this.#frameBytes + rest;
    // The last bytes may be the start of a delimiter, not frame content.
    const atLeast = frameBytes - (this.#d.longest - 1);
    if (!this.#discarding && atLeast > this.#d.maxFrameLength) {
      if (this.#d.oversize === "error") this.#fail(atLeast);
      this.#discarding = true;
    }
    const keep = this.#d.longest - 1;
    if (this.#discarding && rest >= keep) {
      // Only the last bytes matter: a delimiter may start there.
      this.#discard(this.#held.length + rest - keep);
      this.#held.clear();
      this.#held.append(chunk.subarray(chunk.length - keep));
    } else if (rest > 0) {
      this.#held.append(this.#start === 0 ? chunk : chunk.subarray(this.#start));
      if (this.#discarding) this.#trimHeld();
    }
    this.#frameBytes = frameBytes;
    this.#shift();
  }

  /** While discarding, keep only what a delimiter cut across chunks needs. */
  #trimHeld(): void {
    const keep = this.#d.longest - 1;
    const drop = this.#held.length - keep;
    if (drop <= 0) return;
    this.#held.keepLast(keep);
    this.#discard(drop);
  }

  #discard(bytes: number): void {
    this.#buffered -= bytes;
    this.#discardedBytes += bytes;
  }

  #shift(): void {
    const queue = this.#queue;
    if (queue.length === 1) queue.pop();
    else queue.shift();
    this.#pos = 0;
    this.#start = 0;
  }

  #fail(length: number): never {
    this.#error = new FrameTooLargeError(length, this.#d.maxFrameLength, "delimited frame");
    throw this.#error;
  }
}

/**
 * The index of `byte` in `chunk` from `from`, or −1. The first bytes are looked at in a plain loop
 * (a native `indexOf` call costs more than scanning a short line), the rest with `indexOf`.
 */
function findByte(chunk: Uint8Array, byte: number, from: number): number {
  const stop = Math.min(chunk.length, from + 32);
  for (let i = from; i < stop; i++) if (chunk[i] === byte) return i;
  return stop === chunk.length ? -1 : chunk.indexOf(byte, stop);
}

/**
 * A stream that turns bytes into delimited frames, for `pipeThrough` (it has the shape of a
 * `TransformStream<Uint8Array, Uint8Array>`). Every complete frame reaches the reader before the
 * readable side errors with the decoder's fault.
 *
 * @example Lines of a stream
 * ```ts
 * import { DELIMITER_PRESETS, DelimiterDecoderStream } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const input = ["one\r", "\ntwo\nthr", "ee\n"].map((s) => new TextEncoder().encode(s));
 * const lines = await Array.fromAsync(
 *   ReadableStream.from(input).pipeThrough(new DelimiterDecoderStream(DELIMITER_PRESETS.line)),
 * );
 * assert.deepEqual(lines.map((l) => new TextDecoder().decode(l)), ["one", "two", "three"]);
 * ```
 */
export class DelimiterDecoderStream extends DecoderStream {
  /**
   * Makes the stream.
   *
   * @param options The delimiters, the limit, the policies and whether to copy.
   */
  constructor(options: DelimiterDecoderOptions = {}) {
    super(new DelimiterDecoder(options));
  }
}
