/**
 * Pull-based reading of frames, envelopes and raw bytes, mixed on one byte stream.
 *
 * @module
 */

import { TruncatedFrameError } from "./errors.ts";
import { FrameDecoder, type FrameDecoderOptions } from "./frame_decoder.ts";
import type { FrameFormat } from "./frame_format.ts";
import {
  type Envelope,
  type EnvelopeOptions,
  parseEnvelopeHeader,
  type ResolvedEnvelopeOptions,
  resolveEnvelopeOptions,
} from "./envelope.ts";

/**
 * A source of byte chunks, such as a socket's read side. `read` resolves to the next chunk, or to
 * `null` at the end of the stream. Chunks are kept by reference and may come back as views: a
 * source must not reuse a chunk's memory after handing it out.
 */
export interface ByteSource {
  /** Reads the next chunk; `null` at the end. */
  read(): Promise<Uint8Array | null>;
  /** Stops the source early (optional). */
  cancel?(reason?: unknown): Promise<void> | void;
}

/**
 * Reads length-prefixed frames, envelopes (JSON header + streamed body) and raw bytes from one
 * byte stream, in any mix: what one reader reads ahead is handed on to the next.
 *
 * @example Frames then an envelope on the same stream
 * ```ts
 * import { encodeEnvelopeHeader, encodeFrame, FrameReader } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array([
 *   ...encodeFrame(new Uint8Array([1, 2, 3])),
 *   ...encodeEnvelopeHeader({ name: "f" }, 4),
 *   ...[9, 9, 9, 9],
 *   ...encodeFrame(new Uint8Array([4])),
 * ]);
 * const reader = new FrameReader(ReadableStream.from([bytes.subarray(0, 5), bytes.subarray(5)]));
 * assert.deepEqual(await reader.readFrame(), new Uint8Array([1, 2, 3]));
 * const envelope = await reader.readEnvelope();
 * assert.deepEqual(envelope?.header, { name: "f", size: 4 });
 * assert.deepEqual(new Uint8Array(await new Response(envelope?.body).arrayBuffer()), new Uint8Array([9, 9, 9, 9]));
 * assert.deepEqual(await reader.readFrame(), new Uint8Array([4]));
 * assert.equal(await reader.readFrame(), null); // clean end at a frame boundary
 * ```
 */
export class FrameReader implements AsyncIterable<Uint8Array> {
  #source: ByteSource;
  #decoder: FrameDecoder;
  #pending: Uint8Array[] = [];
  #eof = false;
  #bodyActive = false;
  #envelopeOptions = new WeakMap<EnvelopeOptions, ResolvedEnvelopeOptions>();
  #defaultEnvelope: ResolvedEnvelopeOptions | undefined;

  /**
   * Makes a reader.
   *
   * @param source A `ReadableStream` of bytes or a {@linkcode ByteSource}.
   * @param options The frame layout and limit for {@linkcode FrameReader.prototype.readFrame}.
   */
  constructor(
    source: ReadableStream<Uint8Array> | ByteSource,
    options: FrameDecoderOptions | FrameFormat = {},
  ) {
    if (source instanceof ReadableStream) {
      const reader = source.getReader();
      this.#source = {
        read: async () => {
          const { value, done } = await reader.read();
          return done ? null : value;
        },
        cancel: (reason) => reader.cancel(reason),
      };
    } else if (source !== null && typeof source === "object" && typeof source.read === "function") {
      this.#source = source;
    } else {
      throw new TypeError("source must be a ReadableStream or an object with read()");
    }
    this.#decoder = new FrameDecoder(options);
  }

  /** Whether part of a frame has arrived and the rest has not (a header or body is pending). */
  get inFrame(): boolean {
    return this.#decoder.bufferedLength > 0 && this.#pending.length === 0;
  }

  /** Bytes read from the source and not yet handed out. */
  get bufferedLength(): number {
    let n = this.#decoder.bufferedLength;
    for (const chunk of this.#pending) n += chunk.length;
    return n;
  }

  /**
   * Reads the next frame.
   *
   * @returns The frame, or `null` at a clean end of the stream (at a frame boundary).
   * @throws {TruncatedFrameError} When the stream ends inside a frame.
   * @throws {FrameTooLargeError | CorruptFrameError} On a bad header.
   * @throws {TypeError} While an envelope's body is still unread.
   */
  async readFrame(): Promise<Uint8Array | null> {
    this.#checkIdle();
    const decoder = this.#decoder;
    while (this.#pending.length > 0) decoder.feed(this.#pending.shift()!);
    for (;;) {
      const frame = decoder.next();
      if (frame !== undefined) return frame;
      if (this.#eof) {
        decoder.finish();
        return null;
      }
      const chunk = await this.#source.read();
      if (chunk === null) {
        this.#eof = true;
      } else {
        decoder.feed(chunk);
      }
    }
  }

  /**
   * Reads the next chunk of raw bytes (what was read ahead first).
   *
   * @returns A chunk, or `null` at the end of the stream.
   */
  read(): Promise<Uint8Array | null> {
    this.#checkIdle();
    return this.#readRaw();
  }

  /**
   * Puts bytes back in front of the stream; the next read of any kind sees them first.
   *
   * @param chunk The bytes.
   */
  unread(chunk: Uint8Array): void {
    this.#takeFromDecoder();
    if (chunk.length > 0) this.#pending.unshift(chunk);
  }

  /**
   * Reads the next envelope: its JSON header now, its body as a stream of exactly the declared
   * length. Read the body to its end or cancel it (which skips the rest) before the next read.
   *
   * @param options The envelope layout and limits; must match the sender's.
   * @returns The envelope, or `null` at a clean end of the stream.
   * @throws {TruncatedFrameError} When the stream ends inside the header (the body's stream
   *   errors with it when the stream ends inside the body).
   * @throws {FrameTooLargeError | CorruptFrameError} On a bad header.
   */
  async readEnvelope(options?: EnvelopeOptions): Promise<Envelope | null> {
    this.#checkIdle();
    const resolved = this.#resolveEnvelope(options);
    const head = new FrameDecoder(resolved.headerFormat);
    let json: Uint8Array | undefined;
    while (json === undefined) {
      const chunk = await this.#readRaw();
      if (chunk === null) {
        if (head.bufferedLength === 0) return null;
        head.finish();
        return null;
      }
      head.feed(chunk);
      json = head.next();
    }
    const rest = head.takeBuffered();
    if (rest.length > 0) this.#pending.unshift(...rest);
    const { header, bodyLength } = parseEnvelopeHeader(json, resolved);
    return { header, bodyLength, body: this.#body(bodyLength) };
  }

  /**
   * Reads frames until the end of the stream.
   *
   * @returns An iterator of frames.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const frame = await this.readFrame();
      if (frame === null) return;
      yield frame;
    }
  }

  /**
   * Cancels the source.
   *
   * @param reason Why.
   */
  async cancel(reason?: unknown): Promise<void> {
    this.#eof = true;
    await this.#source.cancel?.(reason);
  }

  #body(length: number): ReadableStream<Uint8Array> {
    let remaining = length;
    if (length === 0) {
      return new ReadableStream({ start: (controller) => controller.close() });
    }
    this.#bodyActive = true;
    const next = async (): Promise<Uint8Array | null> => {
      for (;;) {
        const chunk = await this.#readRaw();
        if (chunk === null) return null;
        if (chunk.length === 0) continue;
        if (chunk.length <= remaining) {
          remaining -= chunk.length;
          return chunk;
        }
        this.#pending.unshift(chunk.subarray(remaining));
        const piece = chunk.subarray(0, remaining);
        remaining = 0;
        return piece;
      }
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const piece = await next();
        if (piece === null) {
          this.#bodyActive = false;
          controller.error(new TruncatedFrameError(length, length - remaining, "body"));
          return;
        }
        controller.enqueue(piece);
        if (remaining === 0) {
          this.#bodyActive = false;
          controller.close();
        }
      },
      cancel: async () => {
        try {
          while (remaining > 0) {
            if (await next() === null) break;
          }
        } finally {
          this.#bodyActive = false;
        }
      },
    }, { highWaterMark: 0 });
  }

  #takeFromDecoder(): void {
    if (this.#decoder.bufferedLength > 0) this.#pending.unshift(...this.#decoder.takeBuffered());
  }

  async #readRaw(): Promise<Uint8Array | null> {
    this.#takeFromDecoder();
    if (this.#pending.length > 0) return this.#pending.shift()!;
    if (this.#eof) return null;
    const chunk = await this.#source.read();
    if (chunk === null) this.#eof = true;
    return chunk;
  }

  #checkIdle(): void {
    if (this.#bodyActive) {
      throw new TypeError(
        "the previous envelope's body is still unread: read it to the end or cancel it first",
      );
    }
  }

  #resolveEnvelope(options?: EnvelopeOptions): ResolvedEnvelopeOptions {
    if (options === undefined) return this.#defaultEnvelope ??= resolveEnvelopeOptions();
    let resolved = this.#envelopeOptions.get(options);
    if (resolved === undefined) {
      resolved = resolveEnvelopeOptions(options);
      this.#envelopeOptions.set(options, resolved);
    }
    return resolved;
  }
}
