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
 * The payload holds one of the delimiters (or ends in bytes that run into the written delimiter,
 * such as a CR before the LF of the `line` preset): sent as is, the receiver would cut it
 * elsewhere. This is
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
      this.check(b);
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

  /**
   * The delimiter written after each payload (a copy). With
   * {@linkcode DelimiterEncoder.prototype.check}, a transport can write a payload and the
   * delimiter as two pieces, without copying the payload.
   */
  get delimiter(): Uint8Array {
    return this.#d.encoderDelimiter.slice();
  }

  /**
   * Checks that a payload decodes back to itself once the delimiter follows it: the decoder must
   * see it end exactly where the written delimiter starts.
   *
   * @param payload The bytes.
   * @throws {DelimiterInPayloadError} When the payload holds a delimiter, or its end runs into
   *   the written one.
   * @throws {FrameTooLargeError} When it is over `maxFrameLength`.
   *
   * @example Checking, then writing in two pieces
   * ```ts
   * import { DelimiterEncoder, DelimiterInPayloadError } from "@sockkit/sockkit/framing";
   * import assert from "node:assert/strict";
   *
   * const encoder = new DelimiterEncoder();
   * const payload = new TextEncoder().encode("hello");
   * encoder.check(payload); // then write payload, then encoder.delimiter
   * assert.deepEqual(encoder.delimiter, new Uint8Array([0x0a]));
   * assert.throws(() => encoder.check(new TextEncoder().encode("a\nb")), DelimiterInPayloadError);
   * ```
   */
  check(payload: Uint8Array): void {
    if (!(payload instanceof Uint8Array)) throw new TypeError("payload must be a Uint8Array");
    const d = this.#d;
    if (payload.length > d.maxFrameLength) {
      throw new FrameTooLargeError(payload.length, d.maxFrameLength, "payload");
    }
    const written = d.encoderDelimiter;
    if (d.delimiters.length === 1 && written.length === 1) {
      const i = payload.indexOf(written[0]);
      if (i !== -1) throw new DelimiterInPayloadError(i, written);
      return;
    }
    // Where the first delimiter ends in payload + written (the longest there), as the decoder
    // finds it: it must be the written delimiter, at the very end.
    const n = payload.length;
    const total = n + written.length;
    const at = (k: number) => k < n ? payload[k] : written[k - n];
    for (let e = 0; e < total; e++) {
      const byte = at(e);
      if (d.endsWith[byte] !== 1) continue;
      for (const x of d.delimiters) {
        if (x[x.length - 1] !== byte || x.length > e + 1) continue;
        let j = 1;
        while (j < x.length && at(e - j) === x[x.length - 1 - j]) j++;
        if (j < x.length) continue;
        if (e === total - 1 && x === written) return;
        throw new DelimiterInPayloadError(Math.min(e - x.length + 1, n), x);
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
