/**
 * Encoding payloads as delimited frames (lines and the like): one at a time, many at once, or as
 * a stream.
 *
 * @module
 */

import { FrameTooLargeError } from "./errors.ts";
import {
  type DelimiterOptions,
  type ResolvedDelimiters,
  resolveDelimiters,
} from "./delimiter_format.ts";

/**
 * The payload holds one of the delimiters: sent as is, the receiver would cut it in two. This is
 * where delimiter framing breaks and a length prefix does not (escape the payload, or use
 * {@linkcode encodeFrame}).
 *
 * @example A newline inside a line
 * ```ts
 * import { DelimiterEncoder, DelimiterInPayloadError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const encoder = new DelimiterEncoder();
 * assert.throws(() => encoder.encode("two\nlines"), DelimiterInPayloadError);
 * ```
 */
export class DelimiterInPayloadError extends RangeError {
  /** Where in the payload the delimiter starts. */
  readonly index: number;

  /**
   * Makes the error.
   *
   * @param index Where the delimiter starts.
   * @param delimiter The delimiter found.
   */
  constructor(index: number, delimiter: Uint8Array) {
    super(
      `the payload holds the delimiter ${
        JSON.stringify(new TextDecoder().decode(delimiter))
      } at byte ${index}: the receiver would split it there (escape it, or use a length prefix)`,
    );
    this.name = "DelimiterInPayloadError";
    this.index = index;
  }
}

const utf8 = new TextEncoder();

/**
 * Encodes payloads as delimited frames: the payload, then the first of the delimiters. Payloads
 * that hold a delimiter or are over `maxFrameLength` are refused, so what it writes decodes back
 * to the same payloads.
 *
 * @example Lines for a line protocol
 * ```ts
 * import { DELIMITER_PRESETS, DelimiterEncoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const encoder = new DelimiterEncoder(DELIMITER_PRESETS.crlf);
 * const wire = encoder.encodeAll(["PING", "ECHO hi"]);
 * assert.equal(new TextDecoder().decode(wire), "PING\r\nECHO hi\r\n");
 * ```
 */
export class DelimiterEncoder {
  #d: ResolvedDelimiters;

  /**
   * Makes an encoder.
   *
   * @param options The delimiters (the first is written) and the limit; the decoder's policies
   *   are ignored.
   * @throws {TypeError | RangeError} On bad options.
   */
  constructor(options: DelimiterOptions = {}) {
    this.#d = resolveDelimiters(options);
  }

  /**
   * Encodes one payload (a string is UTF-8) into a new buffer.
   *
   * @param payload The bytes or text.
   * @returns The payload followed by the delimiter.
   * @throws {DelimiterInPayloadError} When the payload holds a delimiter.
   * @throws {FrameTooLargeError} When it is over `maxFrameLength`.
   */
  encode(payload: Uint8Array | string): Uint8Array {
    return this.encodeAll([payload]);
  }

  /**
   * Encodes several payloads into one buffer.
   *
   * @param payloads The bytes or texts.
   * @returns Every payload followed by the delimiter, in order.
   * @throws {DelimiterInPayloadError} When a payload holds a delimiter.
   * @throws {FrameTooLargeError} When one is over `maxFrameLength`.
   */
  encodeAll(payloads: Iterable<Uint8Array | string>): Uint8Array {
    const bytes: Uint8Array[] = [];
    const delimiter = this.#d.encoderDelimiter;
    let size = 0;
    for (const payload of payloads) {
      const b = typeof payload === "string" ? utf8.encode(payload) : payload;
      if (!(b instanceof Uint8Array)) {
        throw new TypeError("payload must be a Uint8Array or a string");
      }
      this.#check(b);
      bytes.push(b);
      size += b.length + delimiter.length;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const b of bytes) {
      out.set(b, at);
      out.set(delimiter, at + b.length);
      at += b.length + delimiter.length;
    }
    return out;
  }

  #check(payload: Uint8Array): void {
    if (payload.length > this.#d.maxFrameLength) {
      throw new FrameTooLargeError(payload.length, this.#d.maxFrameLength, "payload");
    }
    for (const d of this.#d.delimiters) {
      const first = d[0];
      for (let i = payload.indexOf(first); i !== -1; i = payload.indexOf(first, i + 1)) {
        let j = 1;
        while (j < d.length && payload[i + j] === d[j]) j++;
        if (j === d.length) throw new DelimiterInPayloadError(i, d);
      }
    }
  }
}

/**
 * A `TransformStream` that makes every chunk (bytes or text) one delimited frame.
 *
 * @example Lines through a stream and back
 * ```ts
 * import { DelimiterDecoderStream, DelimiterEncoderStream } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const out = await Array.fromAsync(
 *   ReadableStream.from(["a", "", "b c"])
 *     .pipeThrough(new DelimiterEncoderStream())
 *     .pipeThrough(new DelimiterDecoderStream()),
 * );
 * assert.deepEqual(out.map((l) => new TextDecoder().decode(l)), ["a", "", "b c"]);
 * ```
 */
export class DelimiterEncoderStream extends TransformStream<Uint8Array | string, Uint8Array> {
  /**
   * Makes the stream.
   *
   * @param options The delimiters (the first is written) and the limit.
   */
  constructor(options: DelimiterOptions = {}) {
    const encoder = new DelimiterEncoder(options);
    super({
      transform(chunk, controller) {
        controller.enqueue(encoder.encode(chunk));
      },
    });
  }
}
