/**
 * sockkit: sockets made visible and safe in Deno.
 *
 * TCP is a byte stream: small writes get merged and large ones split, so a receiver cannot see
 * where one message ends (the "sticky packet" problem, 黏包). sockkit cures it with length-prefix
 * framing, and puts UDP beside it, whose datagrams keep their boundaries but have a hard size
 * limit and may be lost or truncated.
 *
 * - `@sockkit/sockkit/framing`: length-prefix codecs (nine header formats, layouts for foreign
 *   protocols, limits, typed errors, zero-copy decoding) and the JSON-header + streamed-body
 *   envelope.
 * - `@sockkit/sockkit/tcp`: framed TCP and unix-socket connections and servers, whole writes,
 *   batching, timeouts; remote commands and file transfer built on them.
 * - `@sockkit/sockkit/transfer`: file transfer on the framed transport (the tutorial's big-file
 *   transfer, verified, resumable, safe against hostile names and planted links).
 * - `@sockkit/sockkit/udp`: datagram sockets with the 65,507-byte limit enforced, truncation and
 *   loss made visible (needs `--unstable-net`).
 *
 * @example Frames survive any cut of the byte stream
 * ```ts
 * import { encodeFrames, FrameDecoder } from "@sockkit/sockkit";
 * import assert from "node:assert/strict";
 *
 * const sent = ["dir", "help", ""].map((s) => new TextEncoder().encode(s));
 * const wire = encodeFrames(sent);
 * // However TCP cuts the stream, the decoder gives back the messages as sent.
 * for (let cut = 0; cut <= wire.length; cut++) {
 *   const decoder = new FrameDecoder();
 *   const got = [...decoder.push(wire.subarray(0, cut)), ...decoder.push(wire.subarray(cut))];
 *   assert.deepEqual(got, sent);
 * }
 * ```
 *
 * @module
 */
export * from "./framing/mod.ts";
export * from "./tcp/mod.ts";
export * from "./tcp/transfer/mod.ts";
export * from "./udp/mod.ts";
