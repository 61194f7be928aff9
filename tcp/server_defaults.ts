/**
 * The safe defaults of {@linkcode serveFramed}, in one place.
 *
 * @module
 */

/**
 * What {@linkcode serveFramed} uses for each limit you do not set. A server faces peers it does
 * not know, so unlike a connection you make yourself (whose deadlines default to `Infinity`), no
 * limit is off by default:
 *
 * | Limit | Default | What a peer that breaks it gets |
 * | --- | --- | --- |
 * | `idleTimeout` | 60 s | dropped after a minute without sending a byte while the handler waits to receive |
 * | `frameTimeout` | 30 s | dropped when a started frame is not complete 30 s after its first byte (slowloris) |
 * | `writeTimeout` | 30 s | dropped when it takes no bytes for 30 s while a send waits (a peer that never reads) |
 * | `handshakeTimeout` | 10 s | dropped when the TLS handshake and the `handshake` step are not done 10 s after accept |
 * | `maxHandshakes` | 64 | when 64 connections are in their handshake, the oldest is dropped to admit a new one |
 * | `maxConnections` | 1024 | past the handshake, at most 1024 handlers run; then accepting pauses |
 * | `gracePeriod` | 5 s | on shutdown, handlers get 5 s to finish, then their connections are closed |
 *
 * Pass `Infinity` to turn a deadline off (the one spelling, everywhere). Memory per connection
 * is bounded by the connection's budget (see {@linkcode FramedConn}): one read buffer
 * (`readBufferSize`, 64 KiB), an unfinished frame's declared length (≤ `maxFrameLength`,
 * 16 MiB), and the send queue (`highWaterMark`, 1 MiB).
 *
 * @example Reading the defaults
 * ```ts
 * import { SERVER_DEFAULTS } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SERVER_DEFAULTS.writeTimeout, 30_000);
 * assert.equal(SERVER_DEFAULTS.maxHandshakes, 64);
 * assert.ok(Object.isFrozen(SERVER_DEFAULTS));
 * ```
 */
export const SERVER_DEFAULTS: {
  readonly idleTimeout: number;
  readonly frameTimeout: number;
  readonly writeTimeout: number;
  readonly handshakeTimeout: number;
  readonly maxHandshakes: number;
  readonly maxConnections: number;
  readonly gracePeriod: number;
} = Object.freeze({
  idleTimeout: 60_000,
  frameTimeout: 30_000,
  writeTimeout: 30_000,
  handshakeTimeout: 10_000,
  maxHandshakes: 64,
  maxConnections: 1024,
  gracePeriod: 5_000,
});
