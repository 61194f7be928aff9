/**
 * Connecting and listening: framed connections over TCP (IPv4 and IPv6) and unix sockets.
 *
 * @module
 */

import { checkConnOptions, checkTimeout, type FramedConnOptions } from "./conn_options.ts";
import { FramedConn } from "./framed_conn.ts";
import { TimeoutError } from "./errors.ts";
import {
  type ClientTlsOptions,
  connectTlsOver,
  type ServerTlsOptions,
  tlsOptionsOf,
} from "./tls.ts";
import { ServerTlsConn, type ServerTlsContext, serverTlsContext } from "./tls_server.ts";

/** Options of {@linkcode connectFramed}: where to connect, plus every connection option. */
export interface ConnectFramedOptions extends FramedConnOptions {
  /**
   * `"tcp"` (hostname and port) or `"unix"` (a socket file's path).
   *
   * @default {"tcp"}
   */
  transport?: "tcp" | "unix";
  /**
   * The host to connect to: a name, an IPv4 address or an IPv6 address (`"::1"`).
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The TCP port. Required for `"tcp"`. */
  port?: number;
  /** The unix socket's path. Required for `"unix"`. */
  path?: string;
  /**
   * Milliseconds to wait for the connection to be established; then the attempt is abandoned
   * with a {@linkcode TimeoutError} of kind `"connect"`. `Infinity` waits as long as the OS does.
   *
   * @default {Infinity}
   */
  connectTimeout?: number;
  /**
   * Speak TLS: `true` trusts the system's CAs; an object names extra CA certificates (PEM) and the
   * name the server's certificate must carry (by default `hostname`). The TLS handshake runs
   * within `connectTimeout`; a server that does not speak TLS fails it at once with a clear
   * error. TCP only.
   *
   * @default {undefined}
   */
  tls?: ClientTlsOptions | true;
}

/** Options of {@linkcode listenFramed}: where to listen, plus options for accepted connections. */
export interface ListenFramedOptions extends Omit<FramedConnOptions, "signal"> {
  /**
   * `"tcp"` (hostname and port) or `"unix"` (a socket file's path).
   *
   * @default {"tcp"}
   */
  transport?: "tcp" | "unix";
  /**
   * The address to listen on. `"0.0.0.0"` or `"::"` listens on every interface.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The TCP port; `0` lets the OS pick a free one (read it from `addr.port`).
   *
   * @default {0}
   */
  port?: number;
  /** The unix socket's path (the file must not exist). Required for `"unix"`. */
  path?: string;
  /** Closes the listener when aborted (accepted connections stay open). */
  signal?: AbortSignal;
  /**
   * Speak TLS with this certificate chain and key (PEM). Each accepted connection starts its TLS
   * handshake at once, and closing it closes its TCP socket even before the handshake finished
   * (which `Deno.listenTls` connections do not: the TLS layer runs on node:tls over a plain TCP
   * connection). TCP only.
   *
   * @default {undefined}
   */
  tls?: ServerTlsOptions;
}

function transportOf(options: { transport?: string; path?: string }): "tcp" | "unix" {
  const transport = options.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "unix") {
    throw new TypeError(`transport must be "tcp" or "unix", got ${JSON.stringify(transport)}`);
  }
  if (transport === "unix" && (typeof options.path !== "string" || options.path === "")) {
    throw new TypeError("a unix socket needs a path");
  }
  if (transport === "tcp" && options.path !== undefined) {
    throw new TypeError('path is for unix sockets: pass transport: "unix" too');
  }
  return transport;
}

function checkPort(port: unknown, required: boolean): number {
  if (port === undefined && !required) return 0;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  return port;
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/**
 * Connects and returns a {@linkcode FramedConn} (Python's `socket()` + `connect()`).
 *
 * Requires `allow-net` permission (and `allow-read` + `allow-write` for unix sockets).
 *
 * @param options Where to connect, the connect timeout, and the connection's options.
 * @returns The connection.
 * @throws {Deno.errors.ConnectionRefused} When nothing listens there.
 * @throws {TimeoutError} Of kind `"connect"`, after `connectTimeout`.
 * @throws {Deno.errors.NotFound} When a unix socket's path does not exist.
 *
 * @example Refused, told apart from other failures
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * const listener = listenFramed({ port: 0 });
 * const port = listener.addr.port;
 * listener.close(); // now nothing listens on that port
 * await assert.rejects(connectFramed({ port, connectTimeout: 2000 }), Deno.errors.ConnectionRefused);
 * ```
 *
 * @tags allow-net
 */
export async function connectFramed(options: ConnectFramedOptions): Promise<FramedConn> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("connectFramed needs an options object");
  }
  const transport = transportOf(options);
  const connectTimeout = checkTimeout("connectTimeout", options.connectTimeout);
  checkConnOptions(options);
  const tls = options.tls === undefined ? undefined : tlsOptionsOf(options.tls, "client");
  if (tls !== undefined && transport !== "tcp") throw new TypeError("tls is for TCP connections");
  const outer = options.signal;
  outer?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer!.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  const timer = connectTimeout === Infinity ? undefined : setTimeout(
    () => controller.abort(new TimeoutError("connect", connectTimeout)),
    connectTimeout,
  );
  let conn: Deno.Conn;
  try {
    if (transport === "tcp") {
      const port = checkPort(options.port, true);
      const hostname = stripBrackets(options.hostname ?? "127.0.0.1");
      conn = await Deno.connect({ transport: "tcp", hostname, port, signal: controller.signal });
      if (tls !== undefined) {
        conn = await connectTlsOver(conn as Deno.TcpConn, hostname, port, tls, controller.signal);
      }
    } else {
      const connecting = Deno.connect({ transport: "unix", path: options.path! });
      conn = await new Promise<Deno.Conn>((resolve, reject) => {
        const abort = () => {
          reject(controller.signal.reason);
          connecting.then((late) => late.close(), () => {});
        };
        if (controller.signal.aborted) return abort();
        controller.signal.addEventListener("abort", abort, { once: true });
        connecting.then(resolve, reject).finally(() =>
          controller.signal.removeEventListener("abort", abort)
        );
      });
    }
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
  return new FramedConn(conn, options);
}

/**
 * Listens for framed connections (Python's `socket()` + `bind()` + `listen()`); iterate it, or
 * call {@linkcode FramedListener.prototype.accept}, to get each connection as a
 * {@linkcode FramedConn} with the options given here.
 *
 * Requires `allow-net` permission (and `allow-read` + `allow-write` for unix sockets).
 *
 * @param options Where to listen and the options of accepted connections.
 * @returns The listener.
 * @throws {Deno.errors.AddrInUse} When the address is taken.
 *
 * @example One exchange
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * await using listener = listenFramed({ port: 0, maxFrameLength: 1024 });
 * await using client = await connectFramed({ port: listener.addr.port });
 * await using server = (await listener.accept())!;
 * await client.send(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await server.receive(), new Uint8Array([1, 2, 3]));
 * ```
 *
 * @tags allow-net
 */
export function listenFramed(
  options: ListenFramedOptions & { transport: "unix" },
): FramedListener<Deno.UnixAddr>;
/**
 * Listens for framed connections over TCP; see the unix overload above for the full description.
 *
 * @param options Where to listen and the options of accepted connections.
 * @returns The listener; `addr.port` is the port listened on.
 */
export function listenFramed(options?: ListenFramedOptions): FramedListener<Deno.NetAddr>;
export function listenFramed(options: ListenFramedOptions = {}): FramedListener {
  if (options === null || typeof options !== "object") {
    throw new TypeError("listenFramed options must be an object");
  }
  const transport = transportOf(options);
  checkConnOptions(options);
  const tls = options.tls === undefined ? undefined : tlsOptionsOf(options.tls, "server");
  if (tls !== undefined && transport !== "tcp") throw new TypeError("tls is for TCP listeners");
  options.signal?.throwIfAborted();
  const hostname = stripBrackets(options.hostname ?? "127.0.0.1");
  const listener = transport === "unix"
    ? Deno.listen({ transport: "unix", path: options.path! })
    : Deno.listen({ transport: "tcp", hostname, port: checkPort(options.port, false) });
  return new FramedListener(listener, options);
}

/**
 * A listener that hands out {@linkcode FramedConn}s. Async-iterable; the iteration ends quietly
 * when the listener is closed. Made by {@linkcode listenFramed}, or around any `Deno.Listener`
 * (e.g. one with `reusePort`, or `Deno.listenTls`).
 *
 * @example The iteration ends quietly on close
 * ```ts
 * import { connectFramed, FramedListener } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * const listener = new FramedListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * const accepting = (async () => {
 *   let count = 0;
 *   for await (const conn of listener) {
 *     count++;
 *     await conn.close();
 *     listener.close();
 *   }
 *   return count;
 * })();
 * await using client = await connectFramed({ port: (listener.addr as Deno.NetAddr).port });
 * assert.equal(await accepting, 1);
 * assert.equal(await client.receive(), null);
 * ```
 *
 * @tags allow-net
 */
export class FramedListener<A extends Deno.Addr = Deno.Addr>
  implements AsyncDisposable, AsyncIterable<FramedConn> {
  /** The underlying listener. */
  readonly listener: Deno.Listener;
  #options: FramedConnOptions;
  #tls: ServerTlsContext | undefined;
  #closed = false;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * Wraps a listener.
   *
   * @param listener A `Deno.Listener` (TCP or unix).
   * @param options The options of accepted connections; `signal` closes the listener; `tls`
   *   runs TLS over each accepted TCP connection.
   */
  constructor(listener: Deno.Listener, options: ListenFramedOptions = {}) {
    this.listener = listener;
    const { signal, tls, ...connOptions } = options;
    this.#options = connOptions;
    if (tls !== undefined) {
      this.#tls = serverTlsContext(tlsOptionsOf(tls, "server") as ServerTlsOptions);
    }
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => this.close();
      if (signal.aborted) this.close();
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /**
   * The address listened on: for TCP, `addr.port` is the port the OS picked for port 0; for a
   * unix socket, `addr.path`.
   */
  get addr(): A {
    return this.listener.addr as A;
  }

  /**
   * Waits for the next connection (Python's `accept()`).
   *
   * @returns The connection, or `null` once the listener is closed.
   */
  async accept(): Promise<FramedConn | null> {
    if (this.#closed) return null;
    let conn: Deno.Conn;
    try {
      conn = await this.listener.accept();
    } catch (error) {
      if (
        this.#closed &&
        (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)
      ) {
        return null;
      }
      throw error;
    }
    if (this.#closed) {
      conn.close();
      return null;
    }
    if (this.#tls !== undefined) {
      conn = new ServerTlsConn(conn as Deno.TcpConn, this.#tls) as unknown as Deno.Conn;
    }
    return new FramedConn(conn, this.#options);
  }

  /**
   * Accepts connections until the listener is closed.
   *
   * @returns An iterator of connections.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<FramedConn> {
    for (;;) {
      const conn = await this.accept();
      if (conn === null) return;
      yield conn;
    }
  }

  /** Stops listening. Accepted connections stay open. Closing twice is fine. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#signal !== undefined && this.#onAbort !== undefined) {
      this.#signal.removeEventListener("abort", this.#onAbort);
    }
    try {
      this.listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /** Same as {@linkcode FramedListener.prototype.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
