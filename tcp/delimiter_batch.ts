/**
 * The send queue's batch buffer for delimited frames: payloads and their delimiters, back to back.
 *
 * @module
 */

import { DelimiterEncoder } from "../framing/delimiter_encoder.ts";
import type { ResolvedDelimiters } from "../framing/delimiter_format.ts";

/** What the send queue needs of a batch buffer (a `FrameBatchEncoder` is one). */
export interface FrameBatch {
  /** Appends one frame (copies the payload); throws, appending nothing, on a bad payload. */
  push(payload: Uint8Array): void;
  /** Bytes encoded since the last flush. */
  readonly byteLength: number;
  /** Frames encoded since the last flush. */
  readonly frameCount: number;
  /** Ends the batch; the bytes are valid until the next `push`. */
  flush(): Uint8Array;
}

/** A checked encoder for delimited frames, shared by a connection's batches. */
export class DelimiterFraming {
  /** The checks (delimiter inside, over the limit). */
  readonly encoder: DelimiterEncoder;
  /** The delimiter written after each payload. */
  readonly delimiter: Uint8Array;

  /** @param delimiters The connection's delimiters. */
  constructor(delimiters: ResolvedDelimiters) {
    this.encoder = new DelimiterEncoder({
      // the written one first, as given (it is one of the sorted list's own objects)
      delimiters: [
        delimiters.encoderDelimiter,
        ...delimiters.delimiters.filter((d) => d !== delimiters.encoderDelimiter),
      ],
      maxFrameLength: delimiters.maxFrameLength,
    });
    this.delimiter = this.encoder.delimiter;
  }
}

/** Payloads, each followed by the delimiter, in one growing buffer. */
export class DelimiterBatch implements FrameBatch {
  #framing: DelimiterFraming;
  #buffer: Uint8Array;
  #length = 0;
  #count = 0;

  /**
   * @param framing The delimiter and its checks.
   * @param capacity The starting size of the buffer.
   */
  constructor(framing: DelimiterFraming, capacity: number) {
    this.#framing = framing;
    this.#buffer = new Uint8Array(capacity);
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
   * Appends the payload and the delimiter.
   *
   * @param payload The bytes; copied.
   * @throws {DelimiterInPayloadError} When the payload holds a delimiter (nothing is appended).
   * @throws {FrameTooLargeError} When it is over `maxFrameLength`.
   */
  push(payload: Uint8Array): void {
    const { encoder, delimiter } = this.#framing;
    encoder.check(payload);
    const n = payload.length;
    const need = this.#length + n + delimiter.length;
    if (need > this.#buffer.length) this.#grow(need);
    const buffer = this.#buffer;
    let pos = this.#length;
    if (n <= 64) {
      for (let i = 0; i < n; i++) buffer[pos++] = payload[i];
    } else {
      buffer.set(payload, pos);
      pos += n;
    }
    for (let i = 0; i < delimiter.length; i++) buffer[pos++] = delimiter[i];
    this.#length = pos;
    this.#count++;
  }

  /**
   * Ends the batch.
   *
   * @returns The frames, back to back: a view of the buffer, valid until the next `push`.
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
