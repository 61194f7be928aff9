/**
 * A framed server: a handshake phase with its own deadline and pool of slots, one handler per
 * connection, isolated failures, a connection limit, safe deadlines and a graceful shutdown.
 *
 * @module
 */

import { listenFramed } from "./framed_listener.ts";
import { checkTimeout } from "./conn_options.ts";
import { SERVER_DEFAULTS } from "./server_defaults.ts";
import { FramedServer, type ServeFramedOptions, type ServerLimits } from "./framed_server.ts";

export {
  type FramedHandler,
  type FramedHandshake,
  FramedServer,
  type ServeFramedInfo,
  type ServeFramedOptions,
} from "./framed_server.ts";

function checkCount(name: string, value: unknown, fallback: number): number {
  const n = value ?? fallback;
  if (typeof n !== "number" || !(n >= 1) || !(Number.isInteger(n) || n === Infinity)) {
    throw new RangeError(`${name} must be an integer ≥ 1 or Infinity, got ${String(n)}`);
  }
  return n;
}

/**
 * Serves framed connections. Each accepted connection first goes through its handshake phase
 * (its TLS handshake, then the `handshake` step if given), within `handshakeTimeout` and in a
 * pool of `maxHandshakes` slots; then `handler` runs, at most `maxConnections` at a time. A
 * handler that throws is reported to `onError` (logged by default) and only its own connection
 * is closed. `signal`, {@linkcode FramedServer.prototype.shutdown} or `await using` stop
 * accepting, abort every handler's `info.signal`, let the handlers finish within `gracePeriod`,
 * then close the connections that remain. Deadlines not given take
 * {@linkcode SERVER_DEFAULTS}.
 *
 * Requires `allow-net` permission (and `allow-read` + `allow-write` for unix sockets).
 *
 * @param options Where to listen, the handshake, the handler, limits and shutdown behaviour.
 * @returns The running server.
 *
 * @example An echo server behind a password
 * ```ts
 * import { connectFramed, serveFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * await using server = serveFramed({
 *   port: 0,
 *   async handshake(conn) {
 *     const word = new TextDecoder().decode((await conn.receive()) ?? new Uint8Array());
 *     if (word !== "open sesame") throw new Error("wrong password");
 *     return word.length;
 *   },
 *   async handler(conn, info) {
 *     assert.equal(info.handshake, 11);
 *     for await (const frame of conn) await conn.send(frame);
 *   },
 * });
 * await using client = await connectFramed({ port: server.addr.port });
 * await client.send(new TextEncoder().encode("open sesame"));
 * await client.send(new TextEncoder().encode("ping"));
 * assert.equal(new TextDecoder().decode((await client.receive())!), "ping");
 * ```
 *
 * @tags allow-net
 */
export function serveFramed<T = undefined>(
  options: ServeFramedOptions<T> & { transport: "unix" },
): FramedServer<Deno.UnixAddr, T>;
/**
 * Serves framed connections over TCP; see the unix overload above for the full description.
 *
 * @param options Where to listen, the handshake, the handler, limits and shutdown behaviour.
 * @returns The running server; `addr.port` is the port listened on.
 */
export function serveFramed<T = undefined>(
  options: ServeFramedOptions<T>,
): FramedServer<Deno.NetAddr, T>;
export function serveFramed<T>(options: ServeFramedOptions<T>): FramedServer<Deno.Addr, T> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("serveFramed needs an options object");
  }
  if (typeof options.handler !== "function") throw new TypeError("handler must be a function");
  if (options.handshake !== undefined && typeof options.handshake !== "function") {
    throw new TypeError("handshake must be a function");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("onError must be a function");
  }
  const grace = options.gracePeriod ?? SERVER_DEFAULTS.gracePeriod;
  if (grace !== 0) checkTimeout("gracePeriod", grace);
  const limits: ServerLimits = {
    maxConnections: checkCount(
      "maxConnections",
      options.maxConnections,
      SERVER_DEFAULTS.maxConnections,
    ),
    maxHandshakes: checkCount(
      "maxHandshakes",
      options.maxHandshakes,
      SERVER_DEFAULTS.maxHandshakes,
    ),
    handshakeTimeout: checkTimeout(
      "handshakeTimeout",
      options.handshakeTimeout,
      SERVER_DEFAULTS.handshakeTimeout,
    ),
    gracePeriod: grace,
  };
  const {
    signal,
    handler: _h,
    handshake: _s,
    handshakeTimeout: _t,
    maxHandshakes: _n,
    maxConnections: _m,
    gracePeriod: _g,
    onError: _e,
    ...listen
  } = options;
  signal?.throwIfAborted();
  const listener = listenFramed({
    ...listen,
    idleTimeout: listen.idleTimeout ?? SERVER_DEFAULTS.idleTimeout,
    frameTimeout: listen.frameTimeout ?? SERVER_DEFAULTS.frameTimeout,
    writeTimeout: listen.writeTimeout ?? SERVER_DEFAULTS.writeTimeout,
  });
  return new FramedServer(listener, options, limits, signal);
}
