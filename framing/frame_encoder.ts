/**
 * Encoding payloads as length-prefixed frames: one at a time, many into one batch buffer, or as a
 * stream.
 *
 * @module
 */

import { FrameFormat, type FrameOptions, resolveFrameFormat } from "./frame_format.ts";

const DEFAULT_FORMAT = new FrameFormat();

function formatOf(options?: FrameOptions | FrameFormat): FrameFormat {
  return options === undefined ? DEFAULT_FORMAT : resolveFrameFormat(options);
}

function checkPayload(payload: unknown): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) {
    throw new TypeError(
      `payload must be a Uint8Array, got ${payload === null ? "null" : typeof payload}`,
    );
  }
}

/**
 * Encodes one payload as a frame: header, then payload, in one new buffer.
 *
 * For many frames at once prefer {@linkcode FrameBatchEncoder} or {@linkcode encodeFrames}; in a
 * hot loop pass a {@linkcode FrameFormat} rather than a plain options object, so the options are
 * checked only once.
 *
 * @param payload The bytes to frame. With `lengthOffset`, its first bytes go before the length field.
 * @param options The frame layout and limit.
 * @returns The frame.
 * @throws {FrameTooLargeError} When the payload is over `maxFrameLength` or its length does not fit the field.
 *
 * @example The default format: a 4-byte big-endian length
 * ```ts
 * import { encodeFrame } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(encodeFrame(new Uint8Array([7, 8])), new Uint8Array([0, 0, 0, 2, 7, 8]));
 * ```
 *
 * @example A length that does not fit the field is refused, never truncated
 * ```ts
 * import { encodeFrame, FrameTooLargeError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => encodeFrame(new Uint8Array(256), { lengthFormat: "u8" }), FrameTooLargeError);
 * ```
 */
export function encodeFrame(payload: Uint8Array, options?: FrameOptions | FrameFormat): Uint8Array {
  checkPayload(payload);
  const format = formatOf(options);
  const head = format.headerLength(payload.length);
  const prefix = format.lengthOffset;
  const frame = new Uint8Array(head + payload.length - prefix);
  const pos = format.writeHeader(frame, 0, payload);
  frame.set(prefix === 0 ? payload : payload.subarray(prefix), pos);
  return frame;
}

/** Options of {@linkcode FrameBatchEncoder}. */
export interface FrameBatchEncoderOptions extends FrameOptions {
  /**
   * The batch buffer's starting size in bytes; it doubles when needed.
   *
   * @default {65536}
   */
  initialCapacity?: number;
}

/**
 * Writes many frames back to back into one growing batch buffer, for one write to a socket
 * (Netty's flush consolidation). {@linkcode FrameBatchEncoder.prototype.flush} hands out a view of
 * the batch and starts a new one in the same buffer: write the view out before the next
 * {@linkcode FrameBatchEncoder.prototype.push}, or copy it.
 *
 * @example Batching three frames into one write
 * ```ts
 * import { FrameBatchEncoder, FrameDecoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const batch = new FrameBatchEncoder();
 * batch.push(new Uint8Array([1]));
 * batch.push(new Uint8Array([]));
 * batch.push(new Uint8Array([2, 3]));
 * assert.equal(batch.frameCount, 3);
 * const bytes = batch.flush(); // one buffer: write it to the socket in one go
 * assert.equal(bytes.length, 3 * 4 + 3);
 * assert.deepEqual(new FrameDecoder().push(bytes), [
 *   new Uint8Array([1]),
 *   new Uint8Array([]),
 *   new Uint8Array([2, 3]),
 * ]);
 * ```
 */
export class FrameBatchEncoder {
  /** The resolved layout and limit. */
  readonly format: FrameFormat;
  #buffer: Uint8Array;
  #length = 0;
  #count = 0;
  #fixedHeader: number;

  /**
   * Makes a batch encoder.
   *
   * @param options The frame layout, the limit and the starting capacity.
   * @param initialCapacity The starting capacity, over `options.initialCapacity` (for when
   *   `options` is a {@linkcode FrameFormat}).
   */
  constructor(options: FrameBatchEncoderOptions | FrameFormat = {}, initialCapacity?: number) {
    this.format = resolveFrameFormat(options);
    const capacity = initialCapacity ??
      (options instanceof FrameFormat ? 65536 : options.initialCapacity ?? 65536);
    if (!Number.isSafeInteger(capacity) || capacity < 16) {
      throw new RangeError(`initialCapacity must be an integer ≥ 16, got ${capacity}`);
    }
    this.#buffer = new Uint8Array(capacity);
    const f = this.format;
    this.#fixedHeader = f.fieldSize !== 0 && f.lengthOffset === 0 ? f.fieldSize : 0;
  }

  /** Bytes encoded since the last flush. */
  get byteLength(): number {
    return this.#length;
  }

  /** Frames encoded since the last flush. */
  get frameCount(): number {
    return this.#count;
  }

  /**
   * Appends one frame to the batch. The payload is copied: it may be reused at once.
   *
   * @param payload The bytes to frame.
   * @throws {FrameTooLargeError} When the payload is over the limit or does not fit the field.
   */
  push(payload: Uint8Array): void {
    checkPayload(payload);
    const format = this.format;
    const n = payload.length;
    const head = this.#fixedHeader || format.headerLength(n);
    const prefix = format.lengthOffset;
    const need = this.#length + head + n - prefix;
    if (need > this.#buffer.length) this.#grow(need);
    const buffer = this.#buffer;
    let pos = format.writeHeader(buffer, this.#length, payload);
    if (n - prefix <= 64) {
      for (let i = prefix; i < n; i++) buffer[pos++] = payload[i];
    } else {
      buffer.set(prefix === 0 ? payload : payload.subarray(prefix), pos);
      pos += n - prefix;
    }
    this.#length = pos;
    this.#count++;
  }

  /**
   * Ends the batch and returns its bytes. The result is a view of the internal buffer, valid until
   * the next `push`.
   *
   * @returns The encoded frames, back to back.
   */
  flush(): Uint8Array {
    const view = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    this.#count = 0;
    return view;
  }

  #grow(need: number): void {
    let size = this.#buffer.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = next;
  }
}

/**
 * Encodes many payloads into one new buffer, back to back.
 *
 * @param payloads The payloads, in order.
 * @param options The frame layout and limit.
 * @returns The frames.
 *
 * @example Two frames in one buffer
 * ```ts
 * import { encodeFrames } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   encodeFrames([new Uint8Array([9]), new Uint8Array([])], { lengthFormat: "u8" }),
 *   new Uint8Array([1, 9, 0]),
 * );
 * ```
 */
export function encodeFrames(
  payloads: Iterable<Uint8Array>,
  options?: FrameOptions | FrameFormat,
): Uint8Array {
  const format = formatOf(options);
  const list = Array.from(payloads);
  let size = 0;
  for (const payload of list) {
    checkPayload(payload);
    size += format.headerLength(payload.length) + payload.length - format.lengthOffset;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const payload of list) {
    pos = format.writeHeader(out, pos, payload);
    const body = format.lengthOffset === 0 ? payload : payload.subarray(format.lengthOffset);
    out.set(body, pos);
    pos += body.length;
  }
  return out;
}

/**
 * A `TransformStream` that frames every chunk written to it: each input chunk becomes one frame.
 *
 * @example Framing a stream of messages
 * ```ts
 * import { FrameDecoderStream, FrameEncoderStream } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const messages = [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])];
 * const out = await Array.fromAsync(
 *   ReadableStream.from(messages)
 *     .pipeThrough(new FrameEncoderStream({ lengthFormat: "varint" }))
 *     .pipeThrough(new FrameDecoderStream({ lengthFormat: "varint" })),
 * );
 * assert.deepEqual(out, messages);
 * ```
 */
export class FrameEncoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Makes the stream.
   *
   * @param options The frame layout and limit.
   */
  constructor(options: FrameOptions | FrameFormat = {}) {
    const format = resolveFrameFormat(options);
    super({
      transform(chunk, controller) {
        controller.enqueue(encodeFrame(chunk, format));
      },
    });
  }
}
