/**
 * The layout of a length-prefixed frame: which length field, where it sits, what it counts, and
 * the size limit. One {@linkcode FrameOptions} object drives both the encoder and the decoder, so
 * the two cannot disagree.
 *
 * @module
 */

import { FrameTooLargeError } from "./errors.ts";
import { fieldLength, LENGTH_FIELDS, type LengthField, type LengthFormat } from "./length_field.ts";

export type { LengthFormat };

/** Every {@linkcode LengthFormat}, in order of size. */
export const LENGTH_FORMATS: readonly LengthFormat[] = Object.freeze([
  "u8",
  "u16be",
  "u16le",
  "u24be",
  "u32be",
  "u32le",
  "i32le",
  "u64be",
  "varint",
]);

/** The default {@linkcode FrameOptions.maxFrameLength}: 16 MiB. */
export const DEFAULT_MAX_FRAME_LENGTH: number = 16 * 1024 * 1024;

/** The layout of a frame and its size limit. Used by both the encoders and the decoders. */
export interface FrameOptions {
  /**
   * The format of the length field.
   *
   * @default {"u32be"}
   */
  lengthFormat?: LengthFormat;
  /**
   * How many bytes stand before the length field (a type or flag byte, as in gRPC). They are part
   * of the payload: the encoder writes the payload's first `lengthOffset` bytes before the length
   * field and the rest after it; the decoder gives them back in the same place (which costs one
   * copy per frame, since the length field sits between them). 0 to 255.
   *
   * @default {0}
   */
  lengthOffset?: number;
  /**
   * Added to the declared length to get the number of bytes after the length field (Netty's and
   * tokio's `lengthAdjustment`). For a length that counts 2 more bytes than follow it, use −2.
   *
   * @default {0}
   */
  lengthAdjustment?: number;
  /**
   * Whether the declared length counts the header (the bytes before the length field and the field
   * itself) as well as the bytes after it. Not possible with `varint`.
   *
   * @default {false}
   */
  lengthIncludesHeader?: boolean;
  /**
   * The largest payload, in bytes, that is encoded or decoded. It is checked after the
   * adjustment and before anything is allocated: a declared length of 4 GiB allocates nothing and
   * throws {@linkcode FrameTooLargeError}. At most 2^53−1.
   *
   * @default {16777216}
   */
  maxFrameLength?: number;
}

/**
 * Named layouts:
 * - `sockkit`: our default, a 4-byte big-endian length (`u32be`) before each payload.
 * - `python`: the tutorial's `struct.pack('i', len(data))`: a signed 4-byte little-endian length.
 * - `grpc`: gRPC's message framing: 1 flag byte (compressed or not), then a `u32be` length.
 * - `libp2p`: an unsigned varint length, as in libp2p's and multiformats' length-prefixed streams.
 *
 * @example Talking to the tutorial's Python programs
 * ```ts
 * import { encodeFrame, FRAME_PRESETS } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * // struct.pack('i', 300) == b'\x2c\x01\x00\x00'
 * const frame = encodeFrame(new Uint8Array(300), FRAME_PRESETS.python);
 * assert.deepEqual(frame.subarray(0, 4), new Uint8Array([0x2c, 0x01, 0x00, 0x00]));
 * ```
 */
export const FRAME_PRESETS: {
  readonly sockkit: FrameOptions;
  readonly python: FrameOptions;
  readonly grpc: FrameOptions;
  readonly libp2p: FrameOptions;
} = Object.freeze(
  {
    sockkit: Object.freeze({ lengthFormat: "u32be" }),
    python: Object.freeze({ lengthFormat: "i32le" }),
    grpc: Object.freeze({ lengthFormat: "u32be", lengthOffset: 1 }),
    libp2p: Object.freeze({ lengthFormat: "varint" }),
  } as const,
);

/**
 * {@linkcode FrameOptions}, checked and resolved once. Pass one to several encoders and decoders
 * to share the work of checking; plain options objects are resolved the same way.
 *
 * @example Resolving options
 * ```ts
 * import { FrameFormat } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const format = new FrameFormat({ lengthFormat: "u16be" });
 * assert.equal(format.headerLength(10), 2);
 * assert.equal(format.maxFrameLength, 16 * 1024 * 1024);
 * assert.throws(() => new FrameFormat({ lengthFormat: "u33" as never }), TypeError);
 * assert.throws(() => new FrameFormat({ maxFrameLength: -1 }), RangeError);
 * ```
 */
export class FrameFormat {
  /** The format of the length field. */
  readonly lengthFormat: LengthFormat;
  /** Bytes before the length field. */
  readonly lengthOffset: number;
  /** Added to the declared length to get the bytes after the field. */
  readonly lengthAdjustment: number;
  /** Whether the declared length counts the header. */
  readonly lengthIncludesHeader: boolean;
  /** The largest payload, in bytes. */
  readonly maxFrameLength: number;
  /** Size of the length field in bytes; 0 for `varint` (1 to 10). */
  readonly fieldSize: number;
  /** The largest value the length field can hold. */
  readonly fieldMax: number;
  #field: LengthField;

  /**
   * Checks and resolves options.
   *
   * @param options The layout and limit.
   * @throws {TypeError} On an unknown length format or a value of the wrong type.
   * @throws {RangeError} On an out-of-range number or an impossible combination.
   */
  constructor(options: FrameOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("frame options must be an object");
    }
    const format = options.lengthFormat ?? "u32be";
    if (typeof format !== "string" || !Object.hasOwn(LENGTH_FIELDS, format)) {
      throw new TypeError(
        `unknown lengthFormat ${JSON.stringify(format)}; expected one of ${
          LENGTH_FORMATS.join(", ")
        }`,
      );
    }
    const offset = checkInteger("lengthOffset", options.lengthOffset ?? 0, 0, 255);
    const adjustment = checkInteger(
      "lengthAdjustment",
      options.lengthAdjustment ?? 0,
      -0x7fffffff,
      0x7fffffff,
    );
    const includes = options.lengthIncludesHeader ?? false;
    if (typeof includes !== "boolean") {
      throw new TypeError("lengthIncludesHeader must be a boolean");
    }
    if (includes && format === "varint") {
      throw new RangeError(
        "lengthIncludesHeader cannot be used with varint: the header's size depends on the length",
      );
    }
    const max = checkInteger(
      "maxFrameLength",
      options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.lengthFormat = format;
    this.lengthOffset = offset;
    this.lengthAdjustment = adjustment;
    this.lengthIncludesHeader = includes;
    this.maxFrameLength = max;
    this.#field = LENGTH_FIELDS[format];
    this.fieldSize = this.#field.size;
    this.fieldMax = this.#field.max;
    Object.freeze(this);
  }

  /**
   * The header's size for a payload of the given length: the bytes before the field plus the
   * field.
   *
   * @param payloadLength The payload's length in bytes.
   * @returns The header's length in bytes.
   */
  headerLength(payloadLength: number): number {
    if (this.fieldSize !== 0) return this.lengthOffset + this.fieldSize;
    return this.lengthOffset + fieldLength(this.#field, this.#declaredFor(payloadLength));
  }

  /**
   * Writes the header for `payload` into `target` at `offset`: the payload's first `lengthOffset`
   * bytes, then the length field.
   *
   * @param target Where to write; needs `headerLength(payload.length)` bytes from `offset`.
   * @param offset Where the header starts.
   * @param payload The payload the header is for.
   * @returns The offset just past the header.
   * @throws {FrameTooLargeError} When the payload is over the limit or its length does not fit the field.
   * @throws {RangeError} When the payload is shorter than `lengthOffset`.
   */
  writeHeader(target: Uint8Array, offset: number, payload: Uint8Array): number {
    const declared = this.#declaredFor(payload.length);
    let pos = offset;
    const prefix = this.lengthOffset;
    for (let i = 0; i < prefix; i++) target[pos++] = payload[i];
    return this.#field.write(target, pos, declared);
  }

  /** The declared length for a payload, with every encode-side check. */
  #declaredFor(payloadLength: number): number {
    if (payloadLength > this.maxFrameLength) {
      throw new FrameTooLargeError(payloadLength, this.maxFrameLength, "payload");
    }
    if (payloadLength < this.lengthOffset) {
      throw new RangeError(
        `payload of ${payloadLength} bytes is shorter than lengthOffset (${this.lengthOffset}): it must hold the bytes that go before the length field`,
      );
    }
    const after = payloadLength - this.lengthOffset;
    const declared = after - this.lengthAdjustment +
      (this.lengthIncludesHeader ? this.lengthOffset + this.fieldSize : 0);
    if (declared < 0) {
      throw new RangeError(
        `payload of ${payloadLength} bytes gives a negative length field (${declared}) with lengthAdjustment ${this.lengthAdjustment}`,
      );
    }
    if (declared > this.fieldMax) {
      throw new FrameTooLargeError(
        declared,
        this.fieldMax,
        `length field value (${this.lengthFormat})`,
      );
    }
    return declared;
  }
}

/** Resolves options or passes a {@linkcode FrameFormat} through. */
export function resolveFrameFormat(options?: FrameOptions | FrameFormat): FrameFormat {
  return options instanceof FrameFormat ? options : new FrameFormat(options);
}

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
