/**
 * What every frame decoder of sockkit does (length prefixes, delimiters), and the stream that
 * turns any of them into a readable/writable pair.
 *
 * @module
 */

import type { FrameError } from "./errors.ts";

/**
 * A decoder that splits a byte stream, cut at arbitrary points, into frames. Both
 * {@linkcode FrameDecoder} (length prefixes) and {@linkcode DelimiterDecoder} (lines and other
 * delimiters) are one, so a transport can take either as its framing.
 *
 * The promise every implementation keeps: **every complete frame before a fault reaches the
 * caller**. When a chunk holds complete frames and then bad bytes, `push` returns those frames and
 * keeps the fault in {@linkcode StreamDecoder.error}; the next `push`, `next` or `finish` throws
 * it. A call that meets the fault before any frame throws at once. Once failed, a decoder stays
 * failed.
 *
 * Push style: `frames = decoder.push(chunk)`. Pull style (one frame at a time, for a `receive()`
 * loop): `decoder.feed(chunk)`, then `decoder.next()` until it returns `undefined`.
 *
 * @example One loop for either decoder
 * ```ts
 * import {
 *   DelimiterDecoder,
 *   encodeFrames,
 *   FrameDecoder,
 *   type StreamDecoder,
 * } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * function decodeAll(decoder: StreamDecoder, chunks: Uint8Array[]): string[] {
 *   const out: string[] = [];
 *   for (const chunk of chunks) {
 *     decoder.feed(chunk);
 *     for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
 *       out.push(new TextDecoder().decode(f));
 *     }
 *   }
 *   decoder.finish();
 *   return out;
 * }
 * const lines = new TextEncoder().encode("a\nbc\n");
 * assert.deepEqual(decodeAll(new DelimiterDecoder(), [lines.subarray(0, 3), lines.subarray(3)]), ["a", "bc"]);
 * const framed = encodeFrames([new TextEncoder().encode("a"), new TextEncoder().encode("bc")]);
 * assert.deepEqual(decodeAll(new FrameDecoder(), [framed.subarray(0, 6), framed.subarray(6)]), ["a", "bc"]);
 * ```
 */
export interface StreamDecoder {
  /**
   * Feeds a chunk and returns every frame it completes, in order (possibly none).
   *
   * @throws {FrameError} On a fault met before any frame of this call, or kept from before.
   */
  push(chunk: Uint8Array): Uint8Array[];
  /** Feeds a chunk without decoding; pull the frames with `next`. */
  feed(chunk: Uint8Array): void;
  /**
   * The next complete frame of what was fed, or `undefined` when more bytes are needed.
   *
   * @throws {FrameError} When the next thing in the stream is a fault.
   */
  next(): Uint8Array | undefined;
  /**
   * Declares the end of the stream.
   *
   * @returns The frames still buffered (complete ones fed and not pulled; for some decoders a
   *   last unterminated frame).
   * @throws {FrameError} When it ended inside a frame, or on a kept fault.
   */
  finish(): Uint8Array[];
  /** Bytes fed and not yet given back as frames (nor discarded). */
  readonly bufferedLength: number;
  /** The fault found in the bytes, kept until thrown; `undefined` while the stream is sound. */
  readonly error: FrameError | undefined;
}

/**
 * Turns a {@linkcode StreamDecoder} into a readable/writable pair for `pipeThrough`: bytes in,
 * frames out. It has the shape of a `TransformStream<Uint8Array, Uint8Array>`.
 *
 * Unlike a plain `TransformStream`, whose error throws away every frame still queued for the
 * reader, it hands every complete frame to the reader before it errors the readable side with
 * the decoder's fault (a truncated last frame, a bad header). Backpressure: a write resolves once
 * the reader has taken the frames it produced.
 *
 * @example Frames before a truncated tail still arrive
 * ```ts
 * import { DecoderStream, encodeFrames, FrameDecoder, TruncatedFrameError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const wire = encodeFrames([new Uint8Array([1]), new Uint8Array([2])]);
 * const input = ReadableStream.from([wire, new Uint8Array([0, 0, 0, 9, 1])]);
 * const reader = input.pipeThrough(new DecoderStream(new FrameDecoder())).getReader();
 * assert.deepEqual((await reader.read()).value, new Uint8Array([1]));
 * assert.deepEqual((await reader.read()).value, new Uint8Array([2]));
 * await assert.rejects(reader.read(), TruncatedFrameError);
 * ```
 */
export class DecoderStream {
  /** The frames. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The bytes. */
  readonly writable: WritableStream<Uint8Array>;

  /**
   * Wraps a decoder.
   *
   * @param decoder The decoder; the stream owns it from now on.
   */
  constructor(decoder: StreamDecoder) {
    let out!: ReadableStreamDefaultController<Uint8Array>;
    let input!: WritableStreamDefaultController;
    let wake: (() => void) | undefined;
    let cancelled = false;
    let cancelReason: unknown;
    const awake = () => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    // Resolves once the reader has taken every queued frame and asks for more.
    const drained = (): Promise<void> | undefined =>
      cancelled || (out.desiredSize ?? 0) >= 0
        ? undefined
        : new Promise<void>((resolve) => (wake = resolve));
    const fail = async (error: unknown): Promise<never> => {
      await drained();
      if (!cancelled) out.error(error);
      throw error;
    };
    this.readable = new ReadableStream<Uint8Array>({
      start(controller) {
        out = controller;
      },
      pull: awake,
      cancel(reason) {
        cancelled = true;
        cancelReason = reason;
        input.error(reason);
        awake();
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      start(controller) {
        input = controller;
        // An abort waits for the write in progress, which may be waiting for the reader.
        controller.signal.addEventListener("abort", awake);
      },
      async write(chunk) {
        if (cancelled) throw cancelReason;
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch (error) {
          return fail(error);
        }
        for (const frame of frames) out.enqueue(frame);
        if (decoder.error !== undefined) return fail(decoder.error);
        await drained();
      },
      close(): Promise<void> | void {
        if (cancelled) throw cancelReason;
        let frames: Uint8Array[];
        try {
          frames = decoder.finish();
        } catch (error) {
          return fail(error);
        }
        for (const frame of frames) out.enqueue(frame);
        if (decoder.error !== undefined) return fail(decoder.error);
        out.close();
      },
      abort(reason) {
        if (!cancelled) out.error(reason);
      },
    });
  }
}
