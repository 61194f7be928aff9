/**
 * The layout of delimited frames (lines and the like): which delimiters end a frame, the size
 * limit and what happens to a frame over it. One {@linkcode DelimiterOptions} object drives both
 * the encoder and the decoder.
 *
 * @module
 */

import { DEFAULT_MAX_FRAME_LENGTH } from "./frame_format.ts";

/**
 * What the decoder does with a frame longer than `maxFrameLength`:
 * - `"error"` (fail fast, Netty's default): throw {@linkcode FrameTooLargeError} as soon as the
 *   limit is passed, without buffering further.
 * - `"discard"` (tokio's `LinesCodec`): drop the frame's bytes as they come, up to and including
 *   the next delimiter, count it in `discarded`, and go on with the next frame.
 */
export type OversizePolicy = "error" | "discard";

/** The layout of delimited frames and their size limit. */
export interface DelimiterOptions {
  /**
   * The delimiters that end a frame (strings are UTF-8), 1 to 255 bytes each, none empty. A frame
   * ends where the first delimiter ends; when several end at the same byte, the longest is taken
   * (so with `"\r\n"` and `"\n"`, `"a\r\n"` gives `"a"`). The encoder writes the first one.
   *
   * @default {["\n"]}
   */
  delimiters?: readonly (string | Uint8Array)[];
  /**
   * The largest frame, in bytes, without its delimiter. The decoder checks it before buffering:
   * it never holds more than this plus the longest delimiter's length minus one of a frame.
   *
   * @default {16777216}
   */
  maxFrameLength?: number;
  /**
   * What the decoder does with a frame over `maxFrameLength`.
   *
   * @default {"error"}
   */
  oversize?: OversizePolicy;
  /**
   * What the decoder does with bytes after the last delimiter when the stream ends: `"error"`
   * throws {@linkcode TruncatedFrameError} (a cut-off frame never looks whole), `"frame"` gives
   * them back as a last frame (as Deno std's `TextLineStream` and tokio's `LinesCodec` do).
   *
   * @default {"error"}
   */
  unterminated?: "error" | "frame";
}

/**
 * Named delimiter layouts:
 * - `line`: a line ends at LF, and a CR right before it is dropped (LF and CRLF both; tokio
 *   `LinesCodec`, Go `bufio.ScanLines`). The encoder writes LF.
 * - `crlf`: only CRLF ends a line (SMTP, Redis inline commands, HTTP headers); a lone LF is data.
 * - `lf`: only LF ends a line; a CR before it is kept (JSON lines).
 * - `nul`: a zero byte ends a frame (as in STOMP, or `find -print0`).
 *
 * @example Lines ended by LF or CRLF
 * ```ts
 * import { DELIMITER_PRESETS, DelimiterDecoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const decoder = new DelimiterDecoder(DELIMITER_PRESETS.line);
 * const lines = decoder.push(new TextEncoder().encode("EHLO a\r\nQUIT\n"));
 * assert.deepEqual(lines.map((l) => new TextDecoder().decode(l)), ["EHLO a", "QUIT"]);
 * ```
 */
export const DELIMITER_PRESETS: {
  readonly line: DelimiterOptions;
  readonly crlf: DelimiterOptions;
  readonly lf: DelimiterOptions;
  readonly nul: DelimiterOptions;
} = Object.freeze({
  line: Object.freeze({ delimiters: Object.freeze(["\n", "\r\n"]) }),
  crlf: Object.freeze({ delimiters: Object.freeze(["\r\n"]) }),
  lf: Object.freeze({ delimiters: Object.freeze(["\n"]) }),
  nul: Object.freeze({ delimiters: Object.freeze(["\0"]) }),
});

/** {@linkcode DelimiterOptions}, checked and resolved. */
export interface ResolvedDelimiters {
  /** The delimiters, longest first. */
  readonly delimiters: readonly Uint8Array[];
  /** The one the encoder writes. */
  readonly encoderDelimiter: Uint8Array;
  /** The longest delimiter's length. */
  readonly longest: number;
  /** The last byte all delimiters share, or −1. */
  readonly commonLast: number;
  /** `endsWith[b]` is 1 when some delimiter ends with byte `b`. */
  readonly endsWith: Uint8Array;
  /** The limit. */
  readonly maxFrameLength: number;
  /** The oversize policy. */
  readonly oversize: OversizePolicy;
  /** The end-of-stream policy. */
  readonly unterminated: "error" | "frame";
}

const utf8 = new TextEncoder();

/** Checks and resolves delimiter options (internal; the public classes call it). */
export function resolveDelimiters(options: DelimiterOptions = {}): ResolvedDelimiters {
  if (options === null || typeof options !== "object") {
    throw new TypeError("delimiter options must be an object");
  }
  const given = options.delimiters ?? ["\n"];
  if (!Array.isArray(given) || given.length === 0) {
    throw new TypeError("delimiters must be a non-empty array of strings or Uint8Arrays");
  }
  const list = given.map((d, i) => {
    const bytes = typeof d === "string" ? utf8.encode(d) : d;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`delimiters[${i}] must be a string or a Uint8Array`);
    }
    if (bytes.length === 0 || bytes.length > 255) {
      throw new RangeError(`delimiters[${i}] must be 1 to 255 bytes long, got ${bytes.length}`);
    }
    return bytes.slice();
  });
  const max = options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
  if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`maxFrameLength must be an integer from 0 to 2^53-1, got ${max}`);
  }
  const oversize = options.oversize ?? "error";
  if (oversize !== "error" && oversize !== "discard") {
    throw new TypeError(`oversize must be "error" or "discard", got ${JSON.stringify(oversize)}`);
  }
  const unterminated = options.unterminated ?? "error";
  if (unterminated !== "error" && unterminated !== "frame") {
    throw new TypeError(
      `unterminated must be "error" or "frame", got ${JSON.stringify(unterminated)}`,
    );
  }
  const endsWith = new Uint8Array(256);
  for (const d of list) endsWith[d[d.length - 1]] = 1;
  const last = list[0][list[0].length - 1];
  const sorted = [...list].sort((a, b) => b.length - a.length);
  return Object.freeze({
    delimiters: Object.freeze(sorted),
    encoderDelimiter: list[0], // the same object as in `delimiters`
    longest: sorted[0].length,
    commonLast: list.every((d) => d[d.length - 1] === last) ? last : -1,
    endsWith,
    maxFrameLength: max,
    oversize,
    unterminated,
  });
}
