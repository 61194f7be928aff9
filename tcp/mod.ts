/**
 * Framed TCP and unix-socket connections: send and receive whole messages over a byte stream.
 *
 * TCP merges small writes and splits large ones (the sticky-packet problem, 黏包), so the
 * receiver cannot tell where a message ends. {@linkcode connectFramed}, {@linkcode listenFramed}
 * and {@linkcode serveFramed} give connections whose `send` and `receive` work in whole
 * length-prefixed frames, with whole writes ({@linkcode writeAll}, Python's `sendall`),
 * automatic batching behind a bounded queue, Nagle turned off, connect/idle/per-frame deadlines
 * (Python's `settimeout`) and errors that tell timeout, reset, refused and truncated apart.
 * With `framing: "line"`, `"crlf"`, `"lf"`, `"nul"` or {@linkcode DelimiterOptions} they speak a
 * line protocol instead: a delimiter after every frame (see {@linkcode Framing}).
 *
 * @example A request and its reply
 * ```ts
 * import { connectFramed, serveFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * await using server = serveFramed({
 *   port: 0,
 *   async handler(conn) {
 *     for await (const frame of conn) {
 *       await conn.send(new TextEncoder().encode(new TextDecoder().decode(frame).toUpperCase()));
 *     }
 *   },
 * });
 * await using client = await connectFramed({ port: server.addr.port });
 * await client.send(new TextEncoder().encode("hello"));
 * assert.equal(new TextDecoder().decode((await client.receive())!), "HELLO");
 * ```
 *
 * @example A CRLF line protocol, spoken to a raw socket
 * ```ts
 * import { serveFramed, writeAll } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * await using server = serveFramed({
 *   port: 0,
 *   framing: "crlf",
 *   async handler(conn) {
 *     for await (const line of conn) {
 *       await conn.send(new TextEncoder().encode(`+${new TextDecoder().decode(line)}`));
 *     }
 *   },
 * });
 * using raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await writeAll(raw, new TextEncoder().encode("PING\r\nECHO\r\n"));
 * const reply = new Uint8Array(64);
 * let got = 0;
 * while (got < 13) got += (await raw.read(reply.subarray(got)))!;
 * assert.equal(new TextDecoder().decode(reply.subarray(0, got)), "+PING\r\n+ECHO\r\n");
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./write_all.ts";
export type { FramedConnOptions, Framing } from "./conn_options.ts";
export { FramedConn } from "./framed_conn.ts";
export * from "./framed_listener.ts";
export * from "./serve_framed.ts";
export * from "./server_defaults.ts";
export type { ClientTlsOptions, ServerTlsOptions } from "./tls.ts";
// the framing types the transport's API mentions, so that this entry point documents itself
export type {
  DelimiterOptions,
  Envelope,
  EnvelopeBody,
  EnvelopeHeader,
  EnvelopeOptions,
  FrameFormat,
  FrameOptions,
  LengthFormat,
  OversizePolicy,
} from "../framing/mod.ts";
export * from "./relay.ts";
