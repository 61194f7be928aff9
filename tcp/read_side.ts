/**
 * The read side of a framed connection: one read buffer, reused while nothing handed out points
 * into it, one decoder, large frames read straight into their own memory, and the idle and frame
 * deadlines.
 *
 * @module
 */

import { FrameDecoder } from "../framing/frame_decoder.ts";
import type { FrameFormat } from "../framing/frame_format.ts";
import { TruncatedFrameError } from "../framing/errors.ts";
import { type ByteReader, type ReadDeadlines, TimedReader } from "./timed_reader.ts";

export type { ByteReader } from "./timed_reader.ts";

/** During bulk transfers the read buffer grows up to this many times `readBufferSize`. */
const MAX_GROWTH = 16;
/**
 * The first read buffer's size (or `readBufferSize`, when smaller): an idle connection holds
 * little; a read that fills it brings a buffer of `readBufferSize`.
 */
const FIRST_BUFFER = 4096;

/** What a framed connection's receiver needs of its read side, whatever the framing. */
export interface FrameSource {
  /** The next frame if it is already buffered (`undefined`: more bytes are needed). */
  nextBuffered(): Uint8Array | undefined;
  /** Reads the next frame; `null` at a clean end of the stream. */
  readFrame(): Promise<Uint8Array | null>;
  /** The reset that ended the stream, if one did. */
  readonly resetError: unknown;
  /** Bytes read from the connection so far. */
  readonly receivedBytes: number;
  /** Bytes received and not yet handed out. */
  readonly bufferedLength: number;
  /** The size of the buffer currently read into. */
  readonly bufferSize: number;
  /** Stops reading: later reads see the end of the stream. */
  stop(): void;
}

/** Settings of a {@linkcode ReadSide}. */
export interface ReadSideOptions extends ReadDeadlines {
  /** The frame layout and limit. */
  format: FrameFormat;
  /** Size of the read buffer in bytes. */
  readBufferSize: number;
  /** Whether frames may be views of a buffer that is read into again (`FramedConnOptions`). */
  reuseBuffers?: boolean;
}

/**
 * Turns a byte stream into frames and raw chunks.
 *
 * **Memory.** Bytes are read into one buffer of `readBufferSize` bytes (up to 16 times that during
 * bulk transfers). Frames and chunks handed out are views of it, and a buffer that a view was
 * handed out from is never written again: when it is full, a fresh one replaces it (and the
 * unfinished frame's few bytes move over). A buffer nothing was handed out from (a peer that
 * trickles an unfinished frame) is reused in place, so however the bytes are cut, an unfinished
 * frame holds at most one read buffer, or, once its header says it does not fit in the buffer's
 * free space and is over a quarter of the buffer, a buffer of its declared length, into which
 * the rest is read directly. The first buffer is small (4 KiB) and
 * replaced by one of `readBufferSize` once a read fills it.
 *
 * With `reuseBuffers`, frames are views of a buffer that is read into again after the next
 * receive: nothing is allocated per frame, and a frame larger than the buffer makes the buffer
 * grow to hold it (to its declared length, which the decoder checked against the limit).
 */
export class ReadSide implements FrameSource {
  #reader: TimedReader;
  #decoder: FrameDecoder;
  /** `readBufferSize`. */
  #base: number;
  /** The size of the next fresh buffer: doubles while reads fill the buffer, up to 16 × base. */
  #size: number;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** Whether a view of `#buf` was handed out (then its bytes before `#end` are never rewritten). */
  #lent = false;
  /** Whether `#decoder` holds `#buf[#start, #end)` (the fast path between frames). */
  #loaded = false;
  #reuse: boolean;
  /** Whether the next fill replaces the buffer with a larger one first. */
  #grow = false;

  /**
   * Makes the read side.
   *
   * @param reader The connection.
   * @param options The format, buffer size and deadlines.
   */
  constructor(reader: ByteReader, options: ReadSideOptions) {
    this.#reader = new TimedReader(reader, options);
    this.#decoder = new FrameDecoder(options.format);
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

  /** Bytes received and not yet handed out. */
  get bufferedLength(): number {
    return this.#loaded ? this.#decoder.bufferedLength : this.#end - this.#start;
  }

  /** The size of the buffer currently read into (for measuring the memory budget). */
  get bufferSize(): number {
    return this.#buf.length;
  }

  /** Stops reading: later reads see the end of the stream. */
  stop(): void {
    this.#reader.stop();
  }

  /**
   * The next frame if it is already buffered, without waiting.
   *
   * @returns The frame, or `undefined` when more bytes are needed.
   * @throws {FrameTooLargeError | CorruptFrameError} On a bad header.
   */
  nextBuffered(): Uint8Array | undefined {
    if (!this.#loaded) {
      if (this.#start === this.#end) return undefined;
      this.#load();
    }
    const frame = this.#decoder.next();
    if (frame !== undefined) {
      // a view of the read buffer (or, with lengthOffset, a copy); lent unless reuse was asked
      if (!this.#reuse) this.#lent = true;
      this.#reader.frameDone();
    }
    return frame;
  }

  /**
   * Reads the next frame.
   *
   * @param decoder The decoder to use (the connection's own, or an envelope header's).
   * @returns The frame, or `null` at a clean end of the stream.
   * @throws {TruncatedFrameError} When the stream ends inside a frame.
   * @throws {FrameTooLargeError | CorruptFrameError} On a bad header.
   * @throws {TimeoutError} When a deadline passed.
   */
  async readFrame(decoder: FrameDecoder = this.#decoder): Promise<Uint8Array | null> {
    if (decoder !== this.#decoder) this.#unload();
    for (;;) {
      const frame = decoder === this.#decoder ? this.nextBuffered() : this.#nextWith(decoder);
      if (frame !== undefined) return frame;
      const missing = decoder.missingBytes;
      if (missing > this.#buf.length - this.#end) {
        const need = decoder.bufferedLength + missing;
        if (this.#reuse && decoder === this.#decoder) {
          // the whole frame is read into the buffer, which grows to hold it if need be
          this.#unload(decoder);
          this.#reserve(need);
        } else if (need > Math.max(this.#buf.length, this.#base) >>> 2) {
          // the frame does not fit in the buffer's free space, nor would it once the buffer is
          // compacted or replaced: read the rest straight into its own memory
          return await this.#readDirect(decoder);
        } else if (this.#buf.length < this.#base) {
          this.#grow = true; // the first, small buffer: a full-size one holds it
        }
      }
      this.#unload(decoder);
      const inFrame = this.#start < this.#end;
      if (!await this.#fill(inFrame)) {
        if (inFrame) this.#finish(decoder);
        return null;
      }
    }
  }

  /**
   * Reads up to `max` raw bytes: what is buffered first, else one read.
   *
   * @param max The most bytes wanted (at least 1).
   * @returns A view of the bytes (its memory is never reused), or `null` at the end.
   */
  async readRaw(max: number): Promise<Uint8Array | null> {
    this.#unload();
    if (this.#start === this.#end && !await this.#fill(false)) return null;
    const n = Math.min(max, this.#end - this.#start);
    const chunk = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.#lent = true;
    return chunk;
  }

  /**
   * Reads raw bytes into `target`: what is buffered first (copied), else one read straight into
   * it. Nothing is handed out, so the read buffer stays reusable.
   *
   * @param target Where the bytes go (at least 1 byte long).
   * @returns How many bytes were read, or `null` at the end of the stream.
   */
  async readInto(target: Uint8Array): Promise<number | null> {
    this.#unload();
    if (this.#start < this.#end) {
      const n = Math.min(target.length, this.#end - this.#start);
      target.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      return n;
    }
    return await this.#reader.read(target, false);
  }

  /**
   * Skips up to `max` raw bytes without handing them out (the read buffer stays reusable).
   *
   * @param max The most bytes to skip.
   * @returns How many were skipped; 0 at the end of the stream.
   */
  async skipRaw(max: number): Promise<number> {
    this.#unload();
    if (this.#start === this.#end && !await this.#fill(false)) return 0;
    const n = Math.min(max, this.#end - this.#start);
    this.#start += n;
    return n;
  }

  #nextWith(decoder: FrameDecoder): Uint8Array | undefined {
    if (decoder.bufferedLength === 0) {
      if (this.#start === this.#end) return undefined;
      decoder.feed(this.#buf.subarray(this.#start, this.#end));
    }
    const frame = decoder.next();
    if (frame !== undefined) {
      // a header frame, parsed and dropped by the caller at once: no need to lend the buffer
      this.#start = this.#end - decoder.bufferedLength;
      decoder.takeBuffered();
      this.#reader.frameDone();
    }
    return frame;
  }

  #load(): void {
    this.#decoder.feed(this.#buf.subarray(this.#start, this.#end));
    this.#loaded = true;
  }

  /** Takes the undecoded bytes back from the decoder: they are `#buf[#start, #end)` again. */
  #unload(decoder: FrameDecoder = this.#decoder): void {
    if (decoder === this.#decoder && !this.#loaded) return;
    this.#start = this.#end - decoder.bufferedLength;
    decoder.takeBuffered();
    if (decoder === this.#decoder) this.#loaded = false;
  }

  /** Reads the rest of the pending frame straight into a buffer of its declared size. */
  async #readDirect(decoder: FrameDecoder): Promise<Uint8Array> {
    const { payload, filled: start, headerLength } = decoder.takePendingFrame()!;
    this.#start = this.#end;
    if (decoder === this.#decoder) this.#loaded = false;
    const prefix = decoder.format.lengthOffset;
    let filled = start;
    while (filled < payload.length) {
      const n = await this.#reader.read(payload.subarray(filled), true);
      if (n === null) {
        throw new TruncatedFrameError(
          headerLength + payload.length - prefix,
          headerLength + filled - prefix,
          "body",
          { cause: this.#reader.resetError },
        );
      }
      filled += n;
    }
    this.#reader.frameDone();
    return payload;
  }

  /** The stream ended inside a frame: lets the decoder say where, with the reset as the cause. */
  #finish(decoder: FrameDecoder): never {
    decoder.feed(this.#buf.subarray(this.#start, this.#end));
    try {
      decoder.next(); // parses the header, if it is all here, so the error can say "body"
      decoder.finish();
    } catch (error) {
      if (error instanceof TruncatedFrameError && this.#reader.resetError !== undefined) {
        throw new TruncatedFrameError(error.expected, error.received, error.part, {
          cause: this.#reader.resetError,
        });
      }
      throw error;
    }
    throw new TruncatedFrameError(this.#end - this.#start + 1, this.#end - this.#start, "header");
  }

  /**
   * Reads more bytes after `#buf[#start, #end)`, making room first.
   *
   * @returns `false` at the end of the stream.
   */
  async #fill(inFrame: boolean): Promise<boolean> {
    if (this.#grow) {
      this.#grow = false;
      const size = Math.max(this.#size, this.#base);
      if (size > this.#buf.length) this.#moveTo(new Uint8Array(size));
    }
    const pending = this.#end - this.#start;
    const length = this.#buf.length;
    if (pending === 0 && !this.#lent) {
      this.#start = this.#end = 0;
    } else if (length - this.#end < length >>> 2) {
      if (this.#lent) {
        // views of this buffer are out there: leave it to them, carry the pending bytes over
        // (into one no smaller than this when they would fill a quarter of the next)
        this.#moveTo(new Uint8Array(pending * 4 > this.#size ? length : this.#size));
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = pending;
    }
    const space = this.#buf.length - this.#end;
    const n = await this.#reader.read(this.#buf.subarray(this.#end), inFrame);
    if (n === null) return false;
    this.#end += n;
    // bulk transfer (the read filled all the space): bigger buffers, fewer reads, fewer frames
    // cut at a buffer's end; back to the base size when reads get small again
    if (n === space) {
      if (this.#size < this.#base * MAX_GROWTH) this.#size *= 2;
      // a buffer that is not given away to views is replaced only here
      if (this.#buf.length < this.#base || (this.#reuse && this.#buf.length < this.#size)) {
        this.#grow = true;
      }
    } else if (n < this.#base >>> 2) {
      this.#size = this.#base;
    }
    return true;
  }

  /** Moves the pending bytes to the start of `fresh`, which becomes the read buffer. */
  #moveTo(fresh: Uint8Array): void {
    fresh.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = fresh;
    this.#lent = false;
  }

  /**
   * `reuseBuffers`: makes the buffer hold `need` bytes from `#start` (the frame being read),
   * moving the pending bytes to its start, or into a larger buffer.
   */
  #reserve(need: number): void {
    if (this.#start + need <= this.#buf.length) return;
    if (need <= this.#buf.length && !this.#lent) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    } else {
      this.#moveTo(new Uint8Array(Math.max(need, this.#buf.length)));
    }
  }
}
