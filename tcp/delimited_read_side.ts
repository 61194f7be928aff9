/**
 * The read side of a connection framed by delimiters: one read buffer, a delimiter decoder fed
 * with each read, frames as views of the buffer, and the idle and frame deadlines.
 *
 * @module
 */

import { DelimiterDecoder } from "../framing/delimiter_decoder.ts";
import type { ResolvedDelimiters } from "../framing/delimiter_format.ts";
import { TruncatedFrameError } from "../framing/errors.ts";
import type { FrameSource } from "./read_side.ts";
import { type ByteReader, type ReadDeadlines, TimedReader } from "./timed_reader.ts";

/** During bulk transfers the read buffer grows up to this many times `readBufferSize`. */
const MAX_GROWTH = 16;
/** The first read buffer's size (or `readBufferSize`, when smaller): an idle connection holds little. */
const FIRST_BUFFER = 4096;

/** Settings of a {@linkcode DelimitedReadSide}. */
export interface DelimitedReadSideOptions extends ReadDeadlines {
  /** The delimiters, the limit and the policies. */
  delimiters: ResolvedDelimiters;
  /** Size of the read buffer in bytes. */
  readBufferSize: number;
  /** Whether frames may be views of a buffer that is read into again (`FramedConnOptions`). */
  reuseBuffers?: boolean;
}

/**
 * Turns a byte stream into delimited frames.
 *
 * **Memory.** Each read goes into the free end of one read buffer and is fed to the decoder as
 * it is. A frame inside one read is a view of the buffer; a frame cut across reads is gathered by
 * the decoder (its bytes copied as they come, or, for a piece that fills half the buffer, kept
 * as a view), never more than `maxFrameLength` plus the longest delimiter's length, checked
 * before anything is kept. A buffer a frame was handed out from, or that an unfinished frame
 * may still point into, is never written again: once its free end is short, a fresh one
 * replaces it. A buffer nothing points into is read into again from its start.
 */
export class DelimitedReadSide implements FrameSource {
  #reader: TimedReader;
  #decoder: DelimiterDecoder;
  #base: number;
  #size: number;
  #buf: Uint8Array;
  #end = 0;
  /** Whether a frame that is a view of `#buf` was handed out (not with `reuseBuffers`). */
  #lent = false;
  #grow = false;
  #reuse: boolean;
  #discards: boolean;
  #discardedFrames = 0;

  /**
   * Makes the read side.
   *
   * @param reader The connection.
   * @param options The delimiters, buffer size and deadlines.
   */
  constructor(reader: ByteReader, options: DelimitedReadSideOptions) {
    this.#reader = new TimedReader(reader, options);
    const d = options.delimiters;
    this.#decoder = new DelimiterDecoder({
      delimiters: d.delimiters,
      maxFrameLength: d.maxFrameLength,
      oversize: d.oversize,
      unterminated: d.unterminated,
    });
    this.#discards = d.oversize === "discard";
    this.#base = this.#size = options.readBufferSize;
    this.#reuse = options.reuseBuffers ?? false;
    this.#buf = new Uint8Array(Math.min(this.#size, FIRST_BUFFER));
  }

  /** The reset (`ConnectionReset`, `ConnectionAborted`) that ended the stream, if one did. */
  get resetError(): unknown {
    return this.#reader.resetError;
  }

  /** Bytes read from the connection so far. */
  get receivedBytes(): number {
    return this.#reader.receivedBytes;
  }

  /** Bytes received and not yet handed out nor discarded. */
  get bufferedLength(): number {
    return this.#decoder.bufferedLength;
  }

  /** The size of the buffer currently read into. */
  get bufferSize(): number {
    return this.#buf.length;
  }

  /** Oversize frames discarded so far (`oversize: "discard"`), and their bytes. */
  get discarded(): { frames: number; bytes: number } {
    return this.#decoder.discarded;
  }

  /** Stops reading: later reads see the end of the stream. */
  stop(): void {
    this.#reader.stop();
  }

  /**
   * The next frame if it is already buffered, without waiting.
   *
   * @returns The frame, or `undefined` when more bytes are needed.
   * @throws {FrameTooLargeError} On an oversize frame under `oversize: "error"`.
   */
  nextBuffered(): Uint8Array | undefined {
    const frame = this.#decoder.next();
    if (frame !== undefined) {
      if (!this.#reuse && frame.buffer === this.#buf.buffer) this.#lent = true;
      this.#reader.frameDone();
    }
    return frame;
  }

  /**
   * Reads the next frame.
   *
   * @returns The frame, or `null` at a clean end of the stream.
   * @throws {TruncatedFrameError} When the stream ends inside a frame (`unterminated: "error"`).
   * @throws {FrameTooLargeError} On an oversize frame under `oversize: "error"`.
   * @throws {TimeoutError} When a deadline passed.
   */
  async readFrame(): Promise<Uint8Array | null> {
    for (;;) {
      const frame = this.nextBuffered();
      if (frame !== undefined) return frame;
      if (!await this.#fill()) return this.#finish();
    }
  }

  /** The stream ended: the bytes after the last delimiter are a last frame, an error or nothing. */
  #finish(): Uint8Array | null {
    let rest: Uint8Array[];
    try {
      rest = this.#decoder.finish();
    } catch (error) {
      const reset = this.#reader.resetError;
      if (error instanceof TruncatedFrameError && reset !== undefined) {
        throw new TruncatedFrameError(error.expected, error.received, error.part, {
          cause: reset,
        });
      }
      throw error;
    }
    return rest[0] ?? null;
  }

  /**
   * Reads more bytes into the free end of the buffer (or a fresh one) and feeds them to the
   * decoder, which has taken every earlier byte (as frames, or into its unfinished frame).
   *
   * @returns `false` at the end of the stream.
   */
  async #fill(): Promise<boolean> {
    if (this.#discards) {
      // an oversize frame was dropped: a frame after it is timed from its own first byte
      const frames = this.#decoder.discarded.frames;
      if (frames !== this.#discardedFrames) this.#reader.frameDone();
      this.#discardedFrames = frames;
    }
    const inFrame = this.#decoder.inFrame;
    // an unfinished frame's bytes may be held as a view of this buffer: do not write over them
    const pinned = this.#lent || this.#decoder.bufferedLength > 0;
    const length = this.#buf.length;
    if (this.#grow) {
      this.#grow = false;
      this.#buf = new Uint8Array(Math.max(this.#size, this.#base));
      this.#end = 0;
      this.#lent = false;
    } else if (!pinned) {
      this.#end = 0;
    } else if (length - this.#end < length >>> 2) {
      this.#buf = new Uint8Array(this.#size);
      this.#end = 0;
      this.#lent = false;
    }
    const start = this.#end;
    const space = this.#buf.length - start;
    const n = await this.#reader.read(this.#buf.subarray(start), inFrame);
    if (n === null) return false;
    this.#end = start + n;
    this.#decoder.feed(this.#buf.subarray(start, start + n));
    // bulk transfer (the read filled all the space): bigger buffers, fewer reads; back to the
    // base size when reads get small again
    if (n === space) {
      if (this.#size < this.#base * MAX_GROWTH) this.#size *= 2;
      if (this.#buf.length < this.#size) this.#grow = true;
    } else if (n < this.#base >>> 2) {
      this.#size = this.#base;
    }
    return true;
  }
}
