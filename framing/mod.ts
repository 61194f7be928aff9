/**
 * Length-prefix framing: the cure for TCP's sticky-packet problem (黏包).
 *
 * TCP is a byte stream: small writes get merged and large ones split, so the receiver cannot see
 * where one message ends. A length header before every message fixes that. This module encodes
 * and decodes such frames in many header formats (`u8` … `u64be`, Python's `i32le`, `varint`),
 * with layouts for foreign protocols (gRPC, libp2p), a size limit checked before any allocation,
 * typed errors, and a zero-copy decoder. The envelope (a length-prefixed JSON header that
 * declares a streamed body) is the tutorial's way to send big files.
 *
 * The other cure, for line protocols (SMTP, Redis inline commands, JSON lines): a delimiter after
 * every message. {@linkcode DelimiterDecoder} and {@linkcode DelimiterEncoder} take any set of
 * delimiters (presets: LF or CRLF lines, CRLF only, LF only, NUL), check the size limit before
 * buffering, fail fast or discard an oversize frame, and scan in linear time however the input
 * is cut. Both decoders are a {@linkcode StreamDecoder}, so a transport can take either.
 *
 * @example Round trip through the decoder, cut at an awkward place
 * ```ts
 * import { encodeFrames, FrameDecoder } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * const messages = ["ls -l", "", "pwd"].map((s) => new TextEncoder().encode(s));
 * const wire = encodeFrames(messages);
 * const decoder = new FrameDecoder();
 * const got = [...decoder.push(wire.subarray(0, 6)), ...decoder.push(wire.subarray(6))];
 * assert.deepEqual(got, messages);
 * ```
 *
 * @module
 */
export * from "./bytes.ts";
export * from "./errors.ts";
export {
  DEFAULT_MAX_FRAME_LENGTH,
  FRAME_PRESETS,
  FrameFormat,
  type FrameOptions,
  LENGTH_FORMATS,
} from "./frame_format.ts";
export type { LengthFormat } from "./length_field.ts";
export * from "./frame_encoder.ts";
export * from "./decoder_stream.ts";
export * from "./frame_decoder.ts";
export {
  DELIMITER_PRESETS,
  type DelimiterOptions,
  type OversizePolicy,
} from "./delimiter_format.ts";
export * from "./delimiter_decoder.ts";
export * from "./delimiter_encoder.ts";
export * from "./frame_reader.ts";
export * from "./envelope.ts";
