/**
 * A framed server: one handler per connection, isolated failures, a connection limit and a
 * graceful shutdown.
 *
 * @module
 */

import type { FramedConn } from "./framed_conn.ts";
import { type FramedListener, listenFramed, type ListenFramedOptions } from "./framed_listener.ts";
import { checkTimeout } from "./framed_conn.ts";

/** What a handler learns about its connection. */
export interface ServeFramedInfo {
  /** The client's address. */
  remoteAddr: Deno.Addr;
  /** The server's address on this connection. */
  localAddr: Deno.Addr;
  /**
   * Aborted when the server starts shutting down: finish the current exchange and return. After
   * the grace period the connection is closed regardless.
   */
  signal: AbortSignal;
}

/** Handles one connection. The connection is closed when the handler returns or throws. */
export type FramedHandler = (conn: FramedConn, info: ServeFramedInfo) => void | Promise<void>;

/** Options of {@linkcode serveFramed}: where to listen, the handler, limits and shutdown. */
export interface ServeFramedOptions extends ListenFramedOptions {
  /** Called once per connection. What it throws is passed to `onError`; other connections go on. */
  handler: FramedHandler;
  /**
   * The most connections handled at once. When reached, the server stops accepting until one
   * ends (clients wait in the kernel's backlog).
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * Milliseconds that open handlers get to finish after shutdown starts; then their connections
   * are closed.
   *
   * @default {5000}
   */
  gracePeriod?: number;
  /**
   * Called with every error a handler throws and every accept failure.
   *
   * @default {logs with console.error}
   */
  onError?: (error: unknown, remoteAddr?: Deno.Addr) => void;
}

function formatAddr(addr: Deno.Addr | undefined): string {
  if (addr === undefined) return "?";
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? `unix:${addr.path}` : String(addr.transport);
}

function defaultOnError(error: unknown, remoteAddr?: Deno.Addr): void {
  const where = remoteAddr === undefined ? "accept" : `connection ${formatAddr(remoteAddr)}`;
  console.error(`sockkit serveFramed: ${where}:`, error);
}

/**
 * Serves framed connections: calls `handler` once per connection, at most `maxConnections` at a
 * time. A handler that throws is reported to `onError` (logged by default) and only its own
 * connection is closed. `signal`, {@linkcode FramedServer.prototype.shutdown} or
 * `await using` stop accepting, abort every handler's `info.signal`, let the handlers finish
 * within `gracePeriod`, then close the connections that remain.
 *
 * Requires `allow-net` permission (and `allow-read` + `allow-write` for unix sockets).
 *
 * @param options Where to listen, the handler, limits and shutdown behaviour.
 * @returns The running server.
 *
 * @example An echo server
 * ```ts
 * import { connectFramed, serveFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * await using server = serveFramed({
 *   port: 0,
 *   async handler(conn) {
 *     for await (const frame of conn) await conn.send(frame);
 *   },
 * });
 * await using client = await connectFramed({ port: server.addr.port });
 * await client.send(new TextEncoder().encode("ping"));
 * assert.equal(new TextDecoder().decode((await client.receive())!), "ping");
 * ```
 *
 * @tags allow-net
 */
export function serveFramed(
  options: ServeFramedOptions & { transport: "unix" },
): FramedServer<Deno.UnixAddr>;
/**
 * Serves framed connections over TCP; see the unix overload above for the full description.
 *
 * @param options Where to listen, the handler, limits and shutdown behaviour.
 * @returns The running server; `addr.port` is the port listened on.
 */
export function serveFramed(options: ServeFramedOptions): FramedServer<Deno.NetAddr>;
export function serveFramed(options: ServeFramedOptions): FramedServer {
  if (options === null || typeof options !== "object") {
    throw new TypeError("serveFramed needs an options object");
  }
  if (typeof options.handler !== "function") throw new TypeError("handler must be a function");
  const max = options.maxConnections ?? 1024;
  if (typeof max !== "number" || !(max >= 1) || !(Number.isInteger(max) || max === Infinity)) {
    throw new RangeError(`maxConnections must be an integer ≥ 1, got ${String(max)}`);
  }
  const grace = options.gracePeriod ?? 5000;
  if (grace !== 0) checkTimeout("gracePeriod", grace);
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("onError must be a function");
  }
  const { signal, handler: _h, maxConnections: _m, gracePeriod: _g, onError: _e, ...listen } =
    options;
  signal?.throwIfAborted();
  return new FramedServer(listenFramed(listen), options, max, grace, signal);
}

/**
 * A running {@linkcode serveFramed} server.
 *
 * @example Shutting down with an AbortSignal
 * ```ts
 * import { serveFramed } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * const controller = new AbortController();
 * const server = serveFramed({ port: 0, signal: controller.signal, handler() {} });
 * assert.equal(server.connections, 0);
 * controller.abort();
 * await server.finished; // stopped accepting, every handler ended
 * ```
 *
 * @tags allow-net
 */
export class FramedServer<A extends Deno.Addr = Deno.Addr> implements AsyncDisposable {
  /** The promise that resolves when the server has shut down and every handler has ended. */
  readonly finished: Promise<void>;
  #listener: FramedListener<A>;
  #handler: FramedHandler;
  #onError: (error: unknown, remoteAddr?: Deno.Addr) => void;
  #max: number;
  #grace: number;
  #conns = new Map<FramedConn, Promise<void>>();
  #stop = new AbortController();
  #slotFreed: (() => void) | undefined;
  #accepting: Promise<void>;
  #shutdown: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * Use {@linkcode serveFramed}.
   *
   * @param listener The listener.
   * @param options The handler and error callback.
   * @param max The connection limit.
   * @param grace The grace period in milliseconds.
   * @param signal Shuts the server down when aborted.
   */
  constructor(
    listener: FramedListener<A>,
    options: Pick<ServeFramedOptions, "handler" | "onError">,
    max: number,
    grace: number,
    signal?: AbortSignal,
  ) {
    this.#listener = listener;
    this.#handler = options.handler;
    this.#onError = options.onError ?? defaultOnError;
    this.#max = max;
    this.#grace = grace;
    this.#accepting = this.#acceptLoop();
    let resolveFinished!: () => void;
    this.finished = new Promise((resolve) => resolveFinished = resolve);
    this.#finish = resolveFinished;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => void this.shutdown();
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  #finish: () => void;

  /** The address listened on (`addr.port` for TCP, `addr.path` for unix). */
  get addr(): A {
    return this.#listener.addr;
  }

  /** How many connections are being handled now. */
  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Stops accepting, aborts the handlers' `info.signal`, waits up to the grace period for them,
   * then closes the connections left.
   *
   * @returns {@linkcode FramedServer.prototype.finished}.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.finished;
  }

  /** Same as {@linkcode FramedServer.prototype.shutdown}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #doShutdown(): Promise<void> {
    if (this.#signal !== undefined && this.#onAbort !== undefined) {
      this.#signal.removeEventListener("abort", this.#onAbort);
    }
    this.#listener.close();
    this.#stop.abort(new DOMException("the server is shutting down", "AbortError"));
    this.#slotFreed?.();
    await this.#accepting;
    if (this.#conns.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#grace));
      await Promise.race([Promise.all(this.#conns.values()), expired]);
      clearTimeout(timer);
      for (const conn of this.#conns.keys()) conn.abort();
      await Promise.all(this.#conns.values());
    }
    this.#finish();
  }

  async #acceptLoop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      if (this.#conns.size >= this.#max) {
        await new Promise<void>((resolve) => this.#slotFreed = resolve);
        this.#slotFreed = undefined;
        continue;
      }
      let conn: FramedConn | null;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        this.#report(error);
        // e.g. too many open files: back off instead of spinning
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 100);
          function done() {
            clearTimeout(timer);
            stop.removeEventListener("abort", done);
            resolve();
          }
          stop.addEventListener("abort", done, { once: true });
        });
        continue;
      }
      if (conn === null) return;
      this.#conns.set(conn, this.#run(conn));
    }
  }

  async #run(conn: FramedConn): Promise<void> {
    await Promise.resolve();
    const remoteAddr = conn.remoteAddr;
    try {
      await this.#handler(conn, {
        remoteAddr,
        localAddr: conn.localAddr,
        signal: this.#stop.signal,
      });
    } catch (error) {
      this.#report(error, remoteAddr);
    } finally {
      await conn.close();
      this.#conns.delete(conn);
      this.#slotFreed?.();
    }
  }

  #report(error: unknown, remoteAddr?: Deno.Addr): void {
    try {
      this.#onError(error, remoteAddr);
    } catch (inner) {
      defaultOnError(inner, remoteAddr);
    }
  }
}
