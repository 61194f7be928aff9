/**
 * The options of a framed connection and their checks (run before any socket is made, so bad
 * options throw at once).
 *
 * @module
 */

import { FrameFormat, type FrameOptions } from "../framing/frame_format.ts";
import {
  DELIMITER_PRESETS,
  type DelimiterOptions,
  type ResolvedDelimiters,
  resolveDelimiters,
} from "../framing/delimiter_format.ts";

/**
 * How a {@linkcode FramedConn} cuts the byte stream into frames:
 * - `"length"`: a length prefix before every payload, laid out by the connection's
 *   {@linkcode FrameOptions} (`lengthFormat`, …). Any payload goes through.
 * - `"line"`, `"crlf"`, `"lf"`, `"nul"`: a delimiter after every payload, as the
 *   {@linkcode DELIMITER_PRESETS} of that name (`"line"`: LF or CRLF ends a line, LF is sent).
 * - a {@linkcode DelimiterOptions} object: any delimiters, the oversize policy (fail fast or
 *   discard the frame) and what a stream ending inside a frame means. Its `maxFrameLength`, when
 *   given, must agree with the connection's.
 *
 * Under delimiter framing a payload that holds the delimiter is refused by `send`
 * ({@linkcode DelimiterInPayloadError}, nothing written), and envelopes are not available.
 *
 * @example A line protocol's options
 * ```ts
 * import type { Framing } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const smtp: Framing = "crlf";
 * const jsonLines: Framing = { delimiters: ["\n"], oversize: "discard" };
 * assert.equal(smtp, "crlf");
 * assert.deepEqual(jsonLines.delimiters, ["\n"]);
 * ```
 */
export type Framing = "length" | "line" | "crlf" | "lf" | "nul" | DelimiterOptions;

/** Options of a {@linkcode FramedConn}: framing, deadlines, socket options and buffering. */
export interface FramedConnOptions extends FrameOptions {
  /**
   * Length prefixes (`"length"`) or a delimiter after every frame (a preset name, or
   * {@linkcode DelimiterOptions}); see {@linkcode Framing}. `maxFrameLength` is the limit under
   * either; the `length…` options apply to length prefixes only.
   *
   * @default {"length"}
   */
  framing?: Framing;
  /**
   * Milliseconds without any byte arriving, while waiting to receive, after which the
   * connection is closed and the receive rejects with a {@linkcode TimeoutError} of kind
   * `"idle"`. `Infinity` waits forever.
   *
   * @default {Infinity}
   */
  idleTimeout?: number;
  /**
   * Milliseconds from the first byte of a frame to its last. A peer that sends a header and then
   * stalls (slowloris) is dropped: the connection is closed and the receive rejects with a
   * {@linkcode TimeoutError} of kind `"frame"`. `Infinity` waits forever.
   *
   * @default {Infinity}
   */
  frameTimeout?: number;
  /**
   * Milliseconds a write may wait for the peer to take bytes. A peer that reads nothing for that
   * long (its receive window and the kernel's send buffer are full) is dropped: the connection is
   * closed and the waiting `send`, `flush` or `closeWrite` rejects with a
   * {@linkcode TimeoutError} of kind `"write"`. The clock restarts whenever the peer takes some
   * bytes, so a slow but live reader is not dropped. `Infinity` waits forever.
   *
   * @default {Infinity}
   */
  writeTimeout?: number;
  /** Closes the connection when aborted; pending and later operations reject with its reason. */
  signal?: AbortSignal;
  /**
   * Turn Nagle's algorithm off (`TCP_NODELAY`). Deno leaves Nagle on, and Nagle together with the
   * peer's delayed ACK stalls a write-write-read exchange by about 40 ms (44 ms measured here):
   * the second small write waits for the ACK of the first, which the peer delays. sockkit batches
   * small frames itself, so Nagle only adds latency. Ignored on unix sockets.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Turn TCP keepalive probes on or off (`SO_KEEPALIVE`); left as the system has it when not set.
   * Ignored on unix sockets.
   *
   * @default {undefined}
   */
  keepAlive?: boolean;
  /**
   * Bytes queued for writing above which {@linkcode FramedConn.prototype.send} waits until the
   * queue has drained below it again.
   *
   * @default {1048576}
   */
  highWaterMark?: number;
  /**
   * Size of the buffer the connection reads into. It is reused while no received frame points
   * into it; once one does, the buffer is left to that frame and a fresh one is used (a frame's
   * memory is never written again, unless `reuseBuffers`). During bulk transfers (reads that
   * fill the buffer) fresh buffers double in size, up to 16 times this; they return to this size
   * when reads get small. A frame that does not fit is read straight into a buffer of its own,
   * sized from its header. At least 1024. The first buffer is 4 KiB (an idle connection holds
   * little); the first read that fills it brings one of this size.
   *
   * @default {65536}
   */
  readBufferSize?: number;
  /**
   * Let received frames be views of a read buffer the connection reads into again: a frame is
   * then valid only until the next `receive` (or the next step of `for await`) on this
   * connection; copy what you keep longer (`frame.slice()`). In exchange nothing is allocated
   * per frame and a bulk transfer runs at the speed of raw reads. The buffer grows to hold the
   * largest frame received (its declared length, checked against `maxFrameLength` first) and
   * keeps that size. Envelope bodies are not affected.
   *
   * @default {false}
   */
  reuseBuffers?: boolean;
}

/** {@linkcode FramedConnOptions} checked, with the defaults filled in. */
export interface CheckedConnOptions {
  /** The frame layout and limit. */
  format: FrameFormat;
  /** The delimiters, limit and policies under delimiter framing; `undefined` for length prefixes. */
  delimiters: ResolvedDelimiters | undefined;
  /** Milliseconds, or `Infinity`. */
  idleTimeout: number;
  /** Milliseconds, or `Infinity`. */
  frameTimeout: number;
  /** Milliseconds, or `Infinity`. */
  writeTimeout: number;
  /** Bytes. */
  highWaterMark: number;
  /** Bytes. */
  readBufferSize: number;
  /** Whether received frames may be views of a buffer that is read into again. */
  reuseBuffers: boolean;
  /** Whether to set `TCP_NODELAY`. */
  noDelay: boolean;
  /** `SO_KEEPALIVE`, when given. */
  keepAlive: boolean | undefined;
}

/** The longest delay `setTimeout` can wait; longer deadlines are treated as `Infinity`. */
const TIMER_MAX = 0x7fffffff;

/**
 * Checks a deadline option: a positive number of milliseconds, or `Infinity` for no limit (the one
 * spelling that turns a limit off, everywhere).
 *
 * @param name The option's name, for the error message.
 * @param value The value given.
 * @param fallback The value when not given.
 * @returns The deadline in milliseconds, or `Infinity`.
 * @throws {TypeError} When the value is not a number.
 * @throws {RangeError} When the value is 0, negative or NaN.
 */
export function checkTimeout(name: string, value: unknown, fallback = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of milliseconds, got ${typeof value}`);
  }
  if (!(value > 0)) {
    throw new RangeError(`${name} must be positive (Infinity for no limit), got ${value}`);
  }
  return value > TIMER_MAX ? Infinity : value;
}

function checkSize(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks {@linkcode FramedConnOptions} (used before connecting, so that bad options throw before
 * any socket is made).
 *
 * @param options The options.
 * @param defaults Deadlines to use where the options give none (a server's safe defaults).
 * @returns The checked options.
 */
export function checkConnOptions(
  options: FramedConnOptions,
  defaults: Pick<FramedConnOptions, "idleTimeout" | "frameTimeout" | "writeTimeout"> = {},
): CheckedConnOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError("connection options must be an object");
  }
  const noDelay = options.noDelay ?? true;
  if (typeof noDelay !== "boolean") throw new TypeError("noDelay must be a boolean");
  const reuseBuffers = options.reuseBuffers ?? false;
  if (typeof reuseBuffers !== "boolean") throw new TypeError("reuseBuffers must be a boolean");
  const keepAlive = options.keepAlive;
  if (keepAlive !== undefined && typeof keepAlive !== "boolean") {
    throw new TypeError("keepAlive must be a boolean");
  }
  const timeout = (name: "idleTimeout" | "frameTimeout" | "writeTimeout") =>
    checkTimeout(name, options[name], checkTimeout(name, defaults[name]));
  const format = options instanceof FrameFormat ? options : new FrameFormat(options);
  return {
    format,
    delimiters: checkFraming(options, format.maxFrameLength),
    idleTimeout: timeout("idleTimeout"),
    frameTimeout: timeout("frameTimeout"),
    writeTimeout: timeout("writeTimeout"),
    highWaterMark: checkSize("highWaterMark", options.highWaterMark, 1024 * 1024, 0),
    readBufferSize: checkSize("readBufferSize", options.readBufferSize, 65536, 1024),
    reuseBuffers,
    noDelay,
    keepAlive,
  };
}

const LENGTH_ONLY = ["lengthFormat", "lengthOffset", "lengthAdjustment", "lengthIncludesHeader"];

/** Resolves the `framing` option: `undefined` for length prefixes. */
function checkFraming(
  options: FramedConnOptions,
  maxFrameLength: number,
): ResolvedDelimiters | undefined {
  const framing = options.framing ?? "length";
  if (framing === "length") return undefined;
  let given: DelimiterOptions;
  if (typeof framing === "string") {
    if (!Object.hasOwn(DELIMITER_PRESETS, framing)) {
      throw new TypeError(
        `framing must be "length", "line", "crlf", "lf", "nul" or delimiter options, got ${
          JSON.stringify(framing)
        }`,
      );
    }
    given = DELIMITER_PRESETS[framing as keyof typeof DELIMITER_PRESETS];
  } else if (framing !== null && typeof framing === "object") {
    given = framing;
  } else {
    throw new TypeError("framing must be a string or delimiter options");
  }
  for (const name of LENGTH_ONLY) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw new TypeError(`${name} is for length-prefix framing, not for framing by a delimiter`);
    }
  }
  const inner = given.maxFrameLength;
  if (inner !== undefined && options.maxFrameLength !== undefined && inner !== maxFrameLength) {
    throw new RangeError(
      `maxFrameLength is ${maxFrameLength} but framing.maxFrameLength is ${inner}: give one`,
    );
  }
  return resolveDelimiters({ ...given, maxFrameLength: inner ?? maxFrameLength });
}
