/**
 * Errors that callers of the framing layer catch. Each carries the numbers it is about.
 *
 * @module
 */

const PROTOCOL_SIGNATURES: ReadonlyArray<readonly [string, number[]]> = [
  ["HTTP", [0x47, 0x45, 0x54, 0x20]], // "GET "
  ["HTTP", [0x50, 0x4f, 0x53, 0x54]], // "POST"
  ["HTTP", [0x50, 0x55, 0x54, 0x20]], // "PUT "
  ["HTTP", [0x48, 0x45, 0x41, 0x44]], // "HEAD"
  ["HTTP", [0x44, 0x45, 0x4c, 0x45]], // "DELE"
  ["HTTP", [0x4f, 0x50, 0x54, 0x49]], // "OPTI"
  ["HTTP", [0x50, 0x41, 0x54, 0x43]], // "PATC"
  ["HTTP", [0x43, 0x4f, 0x4e, 0x4e]], // "CONN"
  ["HTTP", [0x48, 0x54, 0x54, 0x50]], // "HTTP" (a response)
  ["HTTP/2", [0x50, 0x52, 0x49, 0x20]], // "PRI " (h2 preface)
  ["SSH", [0x53, 0x53, 0x48, 0x2d]], // "SSH-"
  ["TLS", [0x16, 0x03]], // handshake record, TLS 1.x
  ["TLS", [0x15, 0x03]], // alert record: a TLS server's answer to bytes that are not TLS
];

/**
 * Guesses which well-known protocol some bytes belong to, from their first bytes: HTTP (`GET `,
 * `POST`, …), HTTP/2 (`PRI `), TLS (a handshake record, `0x16 0x03`, or an alert record,
 * `0x15 0x03`: what a TLS server answers to a plain client) or SSH (`SSH-`).
 *
 * Used to explain framing errors: a "frame" of 1.2 GB that starts with `GET ` is an HTTP request
 * sent to the wrong port.
 *
 * @param bytes The first bytes received.
 * @returns The protocol's name, or `undefined` when the bytes look like none of them.
 *
 * @example Spotting an HTTP request
 * ```ts
 * import { sniffProtocol } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sniffProtocol(new TextEncoder().encode("GET / HTTP/1.1\r\n")), "HTTP");
 * assert.equal(sniffProtocol(new Uint8Array([0x16, 0x03, 0x01])), "TLS");
 * assert.equal(sniffProtocol(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02])), "TLS"); // an alert
 * assert.equal(sniffProtocol(new Uint8Array([0, 0, 0, 5])), undefined);
 * ```
 */
export function sniffProtocol(bytes: Uint8Array): string | undefined {
  for (const [name, signature] of PROTOCOL_SIGNATURES) {
    if (bytes.length < signature.length) continue;
    let match = true;
    for (let i = 0; i < signature.length; i++) {
      if (bytes[i] !== signature[i]) {
        match = false;
        break;
      }
    }
    if (match) return name;
  }
  return undefined;
}

function protocolHint(protocol: string | undefined): string {
  return protocol === undefined
    ? ""
    : ` — the bytes look like ${protocol}: the peer is probably speaking ${protocol} on a port that expects length-prefixed frames (wrong protocol on this port?)`;
}

/** Options shared by the framing errors. */
export interface FrameErrorOptions extends ErrorOptions {
  /** The bytes at the start of the offending header, used to name a foreign protocol. */
  headerBytes?: Uint8Array;
}

/**
 * Base class of the framing errors: catch this to handle every kind of bad frame at once.
 *
 * @example Catching any framing error
 * ```ts
 * import { FrameDecoder, FrameError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder();
 * assert.throws(() => decoder.push(new TextEncoder().encode("GET / HTTP/1.1\r\n")), FrameError);
 * ```
 */
export class FrameError extends Error {
  /** The protocol the offending bytes look like (`"HTTP"`, `"TLS"`, `"SSH"`), if any. */
  readonly protocol: string | undefined;

  /**
   * Makes a framing error.
   *
   * @param message What went wrong.
   * @param options The cause and the header bytes, if known.
   */
  constructor(message: string, options?: FrameErrorOptions) {
    const protocol = options?.headerBytes ? sniffProtocol(options.headerBytes) : undefined;
    super(message + protocolHint(protocol), options);
    this.name = "FrameError";
    this.protocol = protocol;
  }
}

/**
 * A frame (or an envelope header or body) declared longer than the limit, or a payload too long to
 * encode: nothing was allocated for it.
 *
 * @example A 4 GiB declared length
 * ```ts
 * import { FrameDecoder, FrameTooLargeError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder({ maxFrameLength: 1024 });
 * try {
 *   decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
 *   assert.fail("expected an error");
 * } catch (error) {
 *   assert.ok(error instanceof FrameTooLargeError);
 *   assert.equal(error.declared, 2 ** 32 - 1);
 *   assert.equal(error.limit, 1024);
 * }
 * ```
 */
export class FrameTooLargeError extends FrameError {
  /** The length declared by the header (or the length asked to encode), in bytes. */
  readonly declared: number;
  /** The limit it exceeds, in bytes. */
  readonly limit: number;

  /**
   * Makes the error.
   *
   * @param declared The declared or requested length.
   * @param limit The limit.
   * @param what What was too large, for the message.
   * @param options The cause and header bytes.
   */
  constructor(declared: number, limit: number, what = "frame", options?: FrameErrorOptions) {
    super(`${what} of ${declared} bytes exceeds the limit of ${limit} bytes`, options);
    this.name = "FrameTooLargeError";
    this.declared = declared;
    this.limit = limit;
  }
}

/**
 * The stream ended inside a frame: inside its header or inside its body.
 *
 * @example EOF in the middle of a body
 * ```ts
 * import { FrameDecoder, TruncatedFrameError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder();
 * decoder.push(new Uint8Array([0, 0, 0, 10, 1, 2, 3]));
 * try {
 *   decoder.finish();
 *   assert.fail("expected an error");
 * } catch (error) {
 *   assert.ok(error instanceof TruncatedFrameError);
 *   assert.equal(error.part, "body");
 *   assert.equal(error.expected, 14);
 *   assert.equal(error.received, 7);
 * }
 * ```
 */
export class TruncatedFrameError extends FrameError {
  /** How many bytes the frame (or its header, while the header is incomplete) needs. */
  readonly expected: number;
  /** How many of them arrived before the end. */
  readonly received: number;
  /** Where the stream ended: inside the `"header"` or inside the `"body"`. */
  readonly part: "header" | "body";

  /**
   * Makes the error.
   *
   * @param expected Bytes needed.
   * @param received Bytes that arrived.
   * @param part Header or body.
   * @param options The cause and header bytes.
   */
  constructor(
    expected: number,
    received: number,
    part: "header" | "body",
    options?: FrameErrorOptions,
  ) {
    super(
      `stream ended inside a frame ${part}: expected ${expected} bytes, received ${received}`,
      options,
    );
    this.name = "TruncatedFrameError";
    this.expected = expected;
    this.received = received;
    this.part = part;
  }
}

/**
 * The bytes cannot be a frame: a negative length, an overlong or non-minimal varint, a length that
 * leaves a negative body after adjustment, or an envelope header that is not a JSON object with a
 * valid size.
 *
 * @example A negative `i32le` length (Python's `struct.pack('i', -1)`)
 * ```ts
 * import { CorruptFrameError, FrameDecoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder({ lengthFormat: "i32le" });
 * assert.throws(() => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])), CorruptFrameError);
 * ```
 */
export class CorruptFrameError extends FrameError {
  /**
   * Makes the error.
   *
   * @param message What is wrong with the bytes.
   * @param options The cause and header bytes.
   */
  constructor(message: string, options?: FrameErrorOptions) {
    super(message, options);
    this.name = "CorruptFrameError";
  }
}
