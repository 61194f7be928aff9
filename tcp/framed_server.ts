/**
 * A running framed server: the accept loop, the handshake phase, the handler slots and the
 * graceful shutdown.
 *
 * @module
 */

import { type FramedConn, tlsHandshakeOf } from "./framed_conn.ts";
import type { FramedListener, ListenFramedOptions } from "./framed_listener.ts";
import { HandshakePool } from "./handshake_pool.ts";

/** What a handler (and a handshake step) learns about its connection. */
export interface ServeFramedInfo<T = undefined> {
  /** The client's address. */
  remoteAddr: Deno.Addr;
  /** The server's address on this connection. */
  localAddr: Deno.Addr;
  /**
   * Aborted when the server starts shutting down: finish the current exchange and return. After
   * the grace period the connection is closed regardless.
   */
  signal: AbortSignal;
  /** What the `handshake` step returned (`undefined` without one, and inside it). */
  handshake: T;
}

/** Handles one connection. The connection is closed when the handler returns or throws. */
export type FramedHandler<T = undefined> = (
  conn: FramedConn,
  info: ServeFramedInfo<T>,
) => void | Promise<void>;

/**
 * The proof phase of a connection (e.g. authentication), run before it gets a handler slot.
 * What it returns reaches the handler as `info.handshake`; when it throws, the connection is
 * closed and the error reported to `onError`.
 */
export type FramedHandshake<T> = (
  conn: FramedConn,
  info: ServeFramedInfo<undefined>,
) => T | Promise<T>;

/**
 * Options of {@linkcode serveFramed}: where to listen, the handshake and the handler, limits and
 * shutdown. Deadlines left unset take {@linkcode SERVER_DEFAULTS}.
 */
export interface ServeFramedOptions<T = undefined> extends ListenFramedOptions {
  /** Called once per connection. What it throws is passed to `onError`; other connections go on. */
  handler: FramedHandler<T>;
  /**
   * The proof phase, run on each connection before its handler, within `handshakeTimeout` and
   * in a pool of `maxHandshakes` slots of its own.
   *
   * @default {undefined}
   */
  handshake?: FramedHandshake<T>;
  /**
   * Milliseconds from accept by which the TLS handshake and the `handshake` step must be done;
   * then the connection is dropped (a {@linkcode TimeoutError} of kind `"handshake"` goes to
   * `onError`).
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * The most connections in their handshake at once. When a new one arrives and the pool is
   * full, the one whose peer has sent the fewest bytes (the oldest of those) is dropped to make
   * room: a flood of sockets that never prove themselves cannot keep a real client out for more than a moment.
   *
   * @default {64}
   */
  maxHandshakes?: number;
  /**
   * The most connections past the handshake handled at once. When reached, the server stops
   * accepting until one ends (clients wait in the kernel's backlog).
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * Milliseconds that open handlers get to finish after shutdown starts; then their connections
   * are closed. `0` closes them at once.
   *
   * @default {5000}
   */
  gracePeriod?: number;
  /**
   * Called with every error a handler or handshake throws, every connection dropped at a
   * deadline, and every accept failure.
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

export function defaultOnError(error: unknown, remoteAddr?: Deno.Addr): void {
  const where = remoteAddr === undefined ? "accept" : `connection ${formatAddr(remoteAddr)}`;
  console.error(`sockkit serveFramed: ${where}:`, error);
}

/** The checked limits of a server. */
export interface ServerLimits {
  maxConnections: number;
  maxHandshakes: number;
  handshakeTimeout: number;
  gracePeriod: number;
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
export class FramedServer<A extends Deno.Addr = Deno.Addr, T = undefined>
  implements AsyncDisposable {
  /** The promise that resolves when the server has shut down and every handler has ended. */
  readonly finished: Promise<void>;
  #listener: FramedListener<A>;
  #handler: FramedHandler<T>;
  #handshake: FramedHandshake<T> | undefined;
  #onError: (error: unknown, remoteAddr?: Deno.Addr) => void;
  #limits: ServerLimits;
  #pool: HandshakePool;
  #tls: boolean;
  #conns = new Map<FramedConn, Promise<void>>();
  #handled = 0;
  #stop = new AbortController();
  #slotFreed: (() => void) | undefined;
  #slotWaiters: (() => void)[] = [];
  #accepting: Promise<void>;
  #shutdown: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #finish!: () => void;

  /**
   * Use {@linkcode serveFramed}.
   *
   * @param listener The listener.
   * @param options The handler, the handshake step, whether TLS is on, and the error callback.
   * @param limits The connection and handshake limits and the grace period.
   * @param signal Shuts the server down when aborted.
   */
  constructor(
    listener: FramedListener<A>,
    options: Pick<ServeFramedOptions<T>, "handler" | "handshake" | "onError" | "tls">,
    limits: {
      maxConnections: number;
      maxHandshakes: number;
      handshakeTimeout: number;
      gracePeriod: number;
    },
    signal?: AbortSignal,
  ) {
    this.#listener = listener;
    this.#handler = options.handler;
    this.#handshake = options.handshake;
    this.#tls = options.tls !== undefined;
    this.#onError = options.onError ?? defaultOnError;
    this.#limits = limits;
    this.#pool = new HandshakePool(limits.maxHandshakes, limits.handshakeTimeout);
    this.finished = new Promise((resolve) => this.#finish = resolve);
    this.#accepting = this.#acceptLoop();
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => void this.shutdown();
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** The address listened on (`addr.port` for TCP, `addr.path` for unix). */
  get addr(): A {
    return this.#listener.addr;
  }

  /** How many connections past their handshake are being handled now. */
  get connections(): number {
    return this.#handled;
  }

  /** How many connections are in their handshake phase now. */
  get handshakes(): number {
    return this.#pool.size;
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
    this.#pool.dropAll();
    for (const wake of this.#slotWaiters.splice(0)) wake();
    if (this.#conns.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) =>
        timer = setTimeout(resolve, this.#limits.gracePeriod)
      );
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
      if (this.#handled >= this.#limits.maxConnections) {
        await new Promise<void>((resolve) => this.#slotFreed = resolve);
        this.#slotFreed = undefined;
        continue;
      }
      let conn: FramedConn | null;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        this.#report(error);
        await backOff(stop); // e.g. too many open files: back off instead of spinning
        continue;
      }
      if (conn === null) return;
      this.#conns.set(conn, this.#run(conn));
      // Under a flood (the handshake pool full), let the connections already in it be read
      // before accepting the next one: otherwise accepting and dropping newcomers can take all
      // the time, and a real client is dropped before its first bytes are even looked at. The
      // rest wait in the kernel's backlog, which costs this process nothing.
      if (this.#pool.size >= this.#limits.maxHandshakes) await macrotask();
    }
  }

  async #run(conn: FramedConn): Promise<void> {
    await Promise.resolve();
    const remoteAddr = conn.remoteAddr;
    const info: ServeFramedInfo<T> = {
      remoteAddr,
      localAddr: conn.localAddr,
      signal: this.#stop.signal,
      handshake: undefined as T,
    };
    let handling = false;
    try {
      if (this.#tls || this.#handshake !== undefined) {
        info.handshake = await this.#pool.run(conn, async () => {
          await tlsHandshakeOf(conn);
          const step = this.#handshake;
          return step === undefined
            ? undefined as T
            : await step(conn, { ...info, handshake: undefined });
        });
      }
      while (this.#handled >= this.#limits.maxConnections) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
        this.#stop.signal.throwIfAborted();
      }
      this.#handled++;
      handling = true;
      await this.#handler(conn, info);
    } catch (error) {
      // a connection the server itself closed at the end of a shutdown is no failure
      if (!(this.#stop.signal.aborted && conn.closed && isClosedHere(error))) {
        this.#report(error, remoteAddr);
      }
    } finally {
      await conn.close();
      this.#conns.delete(conn);
      if (handling) this.#handled--;
      if (this.#handled < this.#limits.maxConnections) this.#slotWaiters.shift()?.();
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

function isClosedHere(error: unknown): boolean {
  return error instanceof Deno.errors.Interrupted || error instanceof Deno.errors.BadResource ||
    (error instanceof DOMException && error.name === "AbortError");
}

function backOff(stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, 100);
    function done() {
      clearTimeout(timer);
      stop.removeEventListener("abort", done);
      resolve();
    }
    stop.addEventListener("abort", done, { once: true });
  });
}

/** Resolves after the event loop has had a turn (timers and I/O), not just the microtasks. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
