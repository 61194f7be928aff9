/**
 * The envelope: the tutorial's "JSON header dict + body", done right. A length-prefixed UTF-8 JSON
 * object declares the byte length of the body that follows it; the body streams, so a
 * multi-gigabyte file needs one chunk of memory. Read envelopes with
 * {@linkcode FrameReader.prototype.readEnvelope}.
 *
 * @module
 */

import { CorruptFrameError, FrameTooLargeError } from "./errors.ts";
import { FrameFormat, type LengthFormat } from "./frame_format.ts";

/** The default {@linkcode EnvelopeOptions.maxHeaderLength}: 64 KiB. */
export const DEFAULT_MAX_HEADER_LENGTH: number = 64 * 1024;

/** Layout and limits of envelopes. The same options must be used on both sides. */
export interface EnvelopeOptions {
  /**
   * The format of the length field before the JSON header.
   *
   * @default {"u32be"}
   */
  lengthFormat?: LengthFormat;
  /**
   * The name of the header field that holds the body's length in bytes.
   *
   * @default {"size"}
   */
  sizeField?: string;
  /**
   * The largest JSON header, in bytes.
   *
   * @default {65536}
   */
  maxHeaderLength?: number;
  /**
   * The largest body, in bytes. Bodies stream, so a large limit costs no memory.
   *
   * @default {9007199254740991}
   */
  maxBodyLength?: number;
}

/**
 * Named envelope layouts:
 * - `sockkit`: a `u32be` length, then a JSON header whose `size` field gives the body's length.
 * - `python`: the tutorial's file transfer: `struct.pack('i', len(json))` (`i32le`), then
 *   `{"filename": …, "filesize": …}`, then the bytes.
 *
 * @example The tutorial's layout
 * ```ts
 * import { encodeEnvelopeHeader, ENVELOPE_PRESETS } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const head = encodeEnvelopeHeader({ filename: "a.txt" }, 5, ENVELOPE_PRESETS.python);
 * const json = '{"filename":"a.txt","filesize":5}';
 * assert.deepEqual(head.subarray(0, 4), new Uint8Array([json.length, 0, 0, 0]));
 * assert.equal(new TextDecoder().decode(head.subarray(4)), json);
 * ```
 */
export const ENVELOPE_PRESETS: {
  readonly sockkit: EnvelopeOptions;
  readonly python: EnvelopeOptions;
} = Object.freeze(
  {
    sockkit: Object.freeze({}),
    python: Object.freeze({ lengthFormat: "i32le", sizeField: "filesize" }),
  } as const,
);

/** A decoded envelope header: a JSON object. */
export type EnvelopeHeader = Record<string, unknown>;

/** One envelope as read: its header and its body, streamed. */
export interface Envelope {
  /** The JSON header, size field included. */
  header: EnvelopeHeader;
  /** The body's length in bytes, from the header. */
  bodyLength: number;
  /**
   * The body: exactly `bodyLength` bytes. Read it to the end or cancel it (which skips the rest)
   * before reading the next envelope or frame.
   */
  body: ReadableStream<Uint8Array>;
}

/** {@linkcode EnvelopeOptions} checked and resolved. */
export interface ResolvedEnvelopeOptions {
  /** The header's frame layout (length format and header limit). */
  headerFormat: FrameFormat;
  /** The size field's name. */
  sizeField: string;
  /** The header limit. */
  maxHeaderLength: number;
  /** The body limit. */
  maxBodyLength: number;
}

/**
 * Checks and resolves envelope options.
 *
 * @param options The options.
 * @returns The resolved options.
 * @throws {TypeError | RangeError} On bad options.
 *
 * @example Defaults
 * ```ts
 * import { resolveEnvelopeOptions } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const resolved = resolveEnvelopeOptions();
 * assert.equal(resolved.sizeField, "size");
 * assert.equal(resolved.maxHeaderLength, 65536);
 * assert.throws(() => resolveEnvelopeOptions({ sizeField: "" }), TypeError);
 * ```
 */
export function resolveEnvelopeOptions(options: EnvelopeOptions = {}): ResolvedEnvelopeOptions {
  const sizeField = options.sizeField ?? "size";
  if (typeof sizeField !== "string" || sizeField.length === 0) {
    throw new TypeError("sizeField must be a non-empty string");
  }
  const maxHeaderLength = options.maxHeaderLength ?? DEFAULT_MAX_HEADER_LENGTH;
  const headerFormat = new FrameFormat({
    lengthFormat: options.lengthFormat ?? "u32be",
    maxFrameLength: maxHeaderLength,
  });
  const maxBodyLength = options.maxBodyLength ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(maxBodyLength) || maxBodyLength < 0) {
    throw new RangeError(`maxBodyLength must be an integer from 0 to 2^53-1, got ${maxBodyLength}`);
  }
  return { headerFormat, sizeField, maxHeaderLength, maxBodyLength };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes an envelope's header: the length field, then the JSON object with the size field set to
 * `bodyLength`. The body's bytes go after it.
 *
 * @param header The header fields (a plain object that JSON can encode).
 * @param bodyLength The body's length in bytes.
 * @param options The layout and limits.
 * @returns The encoded header.
 * @throws {TypeError} When the header is not a plain object or JSON cannot encode it.
 * @throws {RangeError} When the header already has a different size, or bodyLength is not a valid size.
 * @throws {FrameTooLargeError} When the header or the body is over its limit.
 *
 * @example Encoding and parsing back
 * ```ts
 * import { encodeEnvelopeHeader, FrameDecoder, parseEnvelopeHeader } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeEnvelopeHeader({ name: "x.bin" }, 3);
 * const [json] = new FrameDecoder().push(bytes);
 * assert.deepEqual(parseEnvelopeHeader(json), { header: { name: "x.bin", size: 3 }, bodyLength: 3 });
 * ```
 */
export function encodeEnvelopeHeader(
  header: EnvelopeHeader,
  bodyLength: number,
  options?: EnvelopeOptions | ResolvedEnvelopeOptions,
): Uint8Array {
  const resolved = resolve(options);
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new TypeError("an envelope header must be a plain object");
  }
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) {
    throw new RangeError(`body length must be a non-negative integer, got ${bodyLength}`);
  }
  if (bodyLength > resolved.maxBodyLength) {
    throw new FrameTooLargeError(bodyLength, resolved.maxBodyLength, "envelope body");
  }
  const given = header[resolved.sizeField];
  if (given !== undefined && given !== bodyLength) {
    throw new RangeError(
      `header field "${resolved.sizeField}" is ${
        JSON.stringify(given)
      } but the body has ${bodyLength} bytes`,
    );
  }
  const json = encoder.encode(JSON.stringify({ ...header, [resolved.sizeField]: bodyLength }));
  if (json.length > resolved.maxHeaderLength) {
    throw new FrameTooLargeError(json.length, resolved.maxHeaderLength, "envelope header");
  }
  const format = resolved.headerFormat;
  const out = new Uint8Array(format.headerLength(json.length) + json.length);
  out.set(json, format.writeHeader(out, 0, json));
  return out;
}

/**
 * Parses an envelope's JSON header (the bytes after its length field) and checks its size field.
 *
 * @param json The header's bytes.
 * @param options The layout and limits.
 * @returns The header and the body's length.
 * @throws {CorruptFrameError} When the bytes are not UTF-8 JSON of an object with a valid size.
 * @throws {FrameTooLargeError} When the declared body is over `maxBodyLength`.
 *
 * @example Bad headers are refused
 * ```ts
 * import { CorruptFrameError, parseEnvelopeHeader } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * assert.throws(() => parseEnvelopeHeader(bytes("[1,2]")), CorruptFrameError);
 * assert.throws(() => parseEnvelopeHeader(bytes('{"size":-1}')), CorruptFrameError);
 * assert.throws(() => parseEnvelopeHeader(bytes('{"size":1.5}')), CorruptFrameError);
 * assert.throws(() => parseEnvelopeHeader(bytes('{"name":"x"}')), CorruptFrameError);
 * ```
 */
export function parseEnvelopeHeader(
  json: Uint8Array,
  options?: EnvelopeOptions | ResolvedEnvelopeOptions,
): { header: EnvelopeHeader; bodyLength: number } {
  const resolved = resolve(options);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(json));
  } catch (cause) {
    throw new CorruptFrameError(`envelope header is not UTF-8 JSON: ${(cause as Error).message}`, {
      cause,
      headerBytes: json,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CorruptFrameError(
      `envelope header is not a JSON object (got ${
        Array.isArray(value) ? "an array" : typeof value
      })`,
    );
  }
  const header = value as EnvelopeHeader;
  const size = header[resolved.sizeField];
  if (size === undefined) {
    throw new CorruptFrameError(`envelope header has no "${resolved.sizeField}" field`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new CorruptFrameError(
      `envelope header field "${resolved.sizeField}" must be a non-negative integer, got ${
        JSON.stringify(size)
      }`,
    );
  }
  if (size > resolved.maxBodyLength) {
    throw new FrameTooLargeError(size, resolved.maxBodyLength, "envelope body");
  }
  return { header, bodyLength: size };
}

/** A body to send: bytes, or a stream of them with its length. */
export type EnvelopeBody = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Yields the chunks of one envelope: the encoded header, then the body's chunks, checking that the
 * body has exactly `bodyLength` bytes. For writing to a transport of your own.
 *
 * @param header The header fields.
 * @param body The body: bytes or a stream.
 * @param bodyLength The body's length; optional for a `Uint8Array` body.
 * @param options The layout and limits.
 * @returns The chunks to write, in order.
 * @throws {RangeError} When a streamed body is longer or shorter than `bodyLength` (before any
 *   excess byte is yielded).
 *
 * @example Collecting an envelope's bytes
 * ```ts
 * import { envelopeChunks } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const chunks = await Array.fromAsync(envelopeChunks({ name: "a" }, new Uint8Array([1, 2])));
 * assert.equal(chunks.length, 2);
 * assert.deepEqual(chunks[1], new Uint8Array([1, 2]));
 * ```
 */
export async function* envelopeChunks(
  header: EnvelopeHeader,
  body: EnvelopeBody,
  bodyLength?: number,
  options?: EnvelopeOptions | ResolvedEnvelopeOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const resolved = resolve(options);
  if (body instanceof Uint8Array) {
    if (bodyLength !== undefined && bodyLength !== body.length) {
      throw new RangeError(`bodyLength ${bodyLength} differs from the body's ${body.length} bytes`);
    }
    yield encodeEnvelopeHeader(header, body.length, resolved);
    if (body.length > 0) yield body;
    return;
  }
  const length = bodyLength ?? header[resolved.sizeField];
  if (typeof length !== "number") {
    throw new TypeError(
      "a streamed body needs its length (bodyLength, or the header's size field)",
    );
  }
  yield encodeEnvelopeHeader(header, length, resolved);
  let sent = 0;
  for await (const chunk of body) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("body chunks must be Uint8Array");
    if (sent + chunk.length > length) {
      throw new RangeError(`body is longer than the declared ${length} bytes`);
    }
    sent += chunk.length;
    if (chunk.length > 0) yield chunk;
  }
  if (sent !== length) {
    throw new RangeError(`body ended after ${sent} of the declared ${length} bytes`);
  }
}

/**
 * Writes one envelope (header, then body) to a writable stream.
 *
 * @param target A `WritableStream` or its writer (a writer is left locked, a stream is released).
 * @param header The header fields.
 * @param body The body: bytes or a stream.
 * @param bodyLength The body's length; optional for a `Uint8Array` body.
 * @param options The layout and limits.
 *
 * @example Writing and reading back
 * ```ts
 * import { FrameReader, writeEnvelope } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
 * const writing = writeEnvelope(writable, { name: "hi.txt" }, new TextEncoder().encode("hi"))
 *   .then(() => writable.close());
 * const reader = new FrameReader(readable);
 * const envelope = await reader.readEnvelope();
 * assert.equal(envelope?.header.name, "hi.txt");
 * assert.equal(await new Response(envelope?.body).text(), "hi");
 * assert.equal(await reader.readEnvelope(), null);
 * await writing;
 * ```
 */
export async function writeEnvelope(
  target: WritableStream<Uint8Array> | WritableStreamDefaultWriter<Uint8Array>,
  header: EnvelopeHeader,
  body: EnvelopeBody,
  bodyLength?: number,
  options?: EnvelopeOptions,
): Promise<void> {
  const writer = target instanceof WritableStream ? target.getWriter() : target;
  try {
    for await (const chunk of envelopeChunks(header, body, bodyLength, options)) {
      await writer.write(chunk);
    }
  } finally {
    if (target instanceof WritableStream) writer.releaseLock();
  }
}

function resolve(options?: EnvelopeOptions | ResolvedEnvelopeOptions): ResolvedEnvelopeOptions {
  return options !== undefined && "headerFormat" in options
    ? options as ResolvedEnvelopeOptions
    : resolveEnvelopeOptions(options as EnvelopeOptions | undefined);
}
