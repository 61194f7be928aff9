// Copyright 2025 the sockkit authors. MIT license.
/**
 * A TCP impairment relay for loopback: it sits between a client and a server and does to the
 * byte stream, on purpose and reproducibly, what real networks and peers do — slices writes,
 * merges them, delays, throttles, closes or resets mid-stream, stalls. Like Shopify's toxiproxy,
 * plus a seed: the same seed and the same input give the same slices and delays.
 *
 * The relay uses `node:net` sockets because Deno's own `Deno.Conn` cannot send a TCP reset:
 * it has no `SO_LINGER`, and closing it with unread data in the receive buffer was measured to
 * end the peer's stream with a plain FIN on Linux. `node:net`'s `resetAndDestroy()` (SO_LINGER 0)
 * makes the peer's next read fail with `ConnectionReset`.
 *
 * @module
 */

import net from "node:net";
import { once } from "node:events";
import { isLoopback, randomSeed, seededRandom } from "./relay_random.ts";
import {
  RelayDirection,
  type ResolvedTcpImpairments,
  type TcpDirectionStats,
} from "./relay_direction.ts";

export type { TcpDirectionStats } from "./relay_direction.ts";

/** What a {@linkcode TcpRelay} does to the bytes of one direction. Unset means untouched. */
export interface TcpImpairments {
  /**
   * Cut the stream into writes of `min` to `max` bytes (each piece's size drawn from the seed),
   * written one at a time with Nagle off, so the receiver's reads split messages.
   *
   * @default {undefined}
   */
  slice?: readonly [min: number, max: number];
  /**
   * Hold bytes until this many are waiting (or `coalesceMs` passed), then write them at once, so
   * the receiver's reads merge messages.
   *
   * @default {undefined}
   */
  coalesce?: number;
  /**
   * Milliseconds bytes may wait to be coalesced; with `coalesce` unset, gather for this long.
   *
   * @default {20 when coalesce is set}
   */
  coalesceMs?: number;
  /**
   * Milliseconds every byte is delayed; order is kept.
   *
   * @default {0}
   */
  latency?: number;
  /**
   * Up to this many milliseconds added to or taken from `latency`, drawn per write (never below
   * 0, never overtaking the previous write). With `slice`, consecutive pieces are also spread
   * apart by up to this much, so the receiver's reads see them apart.
   *
   * @default {0}
   */
  jitter?: number;
  /**
   * The most kilobytes (1000 bytes) per second passed on.
   *
   * @default {undefined}
   */
  bandwidth?: number;
  /**
   * After passing exactly this many bytes, close the connection both ways (FIN).
   *
   * @default {undefined}
   */
  closeAfter?: number;
  /**
   * After passing exactly this many bytes, reset the connection both ways (RST): the peers'
   * next reads fail with `ConnectionReset` (Deno reports some resets as a plain end of stream).
   *
   * @default {undefined}
   */
  resetAfter?: number;
  /**
   * Pass nothing in this direction (bytes are read and dropped), and close the connection this
   * many milliseconds after it opened; `0` never closes it (a black hole).
   *
   * @default {undefined}
   */
  timeout?: number;
  /**
   * Milliseconds to wait before passing on the end of the stream (FIN).
   *
   * @default {0}
   */
  slowClose?: number;
}

/** Settings for {@linkcode startTcpRelay}. */
export interface TcpRelayOptions extends TcpImpairments {
  /** The server the relay connects each client to: a loopback host (default `127.0.0.1`) and port. */
  target: { hostname?: string; port: number };
  /**
   * The loopback address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; `0` lets the OS pick (read it from {@linkcode TcpRelay.addr}).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The seed of every random choice. Connections are numbered in the order they are accepted,
   * and each connection's direction draws from its own stream.
   *
   * @default {a random seed, reported in TcpRelay.seed}
   */
  seed?: number;
  /**
   * Also log every write the relay makes (`event: "write"`, `bytes`), to replay or compare runs:
   * with `slice`, the sizes depend only on the seed and the bytes, not on how the OS chunked them
   * (a piece still short of its size waits up to 20 ms for more bytes once the relay has written
   * everything before it; a sender that pauses longer mid-piece gets that piece cut there).
   *
   * @default {false}
   */
  record?: boolean;
  /** Overrides for client → server only. */
  up?: TcpImpairments;
  /** Overrides for server → client only. */
  down?: TcpImpairments;
}

/** The relay's counters. */
export interface TcpRelayStats {
  /** Connections accepted. */
  connections: number;
  /** Connections still open. */
  open: number;
  /** Client → server. */
  up: TcpDirectionStats;
  /** Server → client. */
  down: TcpDirectionStats;
}

/** One thing the relay did to a connection. */
export interface TcpRelayEvent {
  /** The connection's number, from 0 in accept order. */
  connection: number;
  /** Which direction caused it, if one did. */
  direction?: "up" | "down";
  /** What happened. */
  event:
    | "open"
    | "write"
    | "close-after"
    | "reset-after"
    | "timeout"
    | "reset"
    | "connect-failed"
    | "closed";
  /** Milliseconds since the relay started. */
  time: number;
  /** For limits: the bytes passed in `direction` when it fired; for writes: the write's size. */
  bytes?: number;
}

/** How long a closing socket may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** The most events {@linkcode TcpRelay.log} keeps; later ones are not recorded. */
const MAX_LOG = 100_000;

const KEYS = [
  "slice",
  "coalesce",
  "coalesceMs",
  "latency",
  "jitter",
  "bandwidth",
  "closeAfter",
  "resetAfter",
  "timeout",
  "slowClose",
] as const;

function count(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!(value >= min) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number ≥ ${min}, got ${value}`);
  }
  return value;
}

function integer(name: string, value: unknown, min: number): number | undefined {
  const n = count(name, value, min);
  if (n !== undefined && !Number.isSafeInteger(n)) {
    throw new RangeError(`${name} must be an integer, got ${n}`);
  }
  return n;
}

function resolveImpairments(
  base: TcpImpairments,
  over: TcpImpairments | undefined,
  dir: string,
): ResolvedTcpImpairments {
  const merged: TcpImpairments = { ...base };
  for (const key of KEYS) {
    if (over?.[key] !== undefined) (merged as Record<string, unknown>)[key] = over[key];
  }
  let slice: [number, number] | undefined;
  if (merged.slice !== undefined) {
    if (!Array.isArray(merged.slice) || merged.slice.length !== 2) {
      throw new TypeError(`${dir}.slice must be [min, max]`);
    }
    const min = integer(`${dir}.slice[0]`, merged.slice[0], 1)!;
    const max = integer(`${dir}.slice[1]`, merged.slice[1], min)!;
    slice = [min, max];
  }
  if (merged.closeAfter !== undefined && merged.resetAfter !== undefined) {
    throw new TypeError(`${dir}: closeAfter and resetAfter cannot both be set`);
  }
  return {
    slice,
    coalesce: integer(`${dir}.coalesce`, merged.coalesce, 1),
    coalesceMs: count(`${dir}.coalesceMs`, merged.coalesceMs, 0),
    latency: count(`${dir}.latency`, merged.latency, 0) ?? 0,
    jitter: count(`${dir}.jitter`, merged.jitter, 0) ?? 0,
    bandwidth: count(`${dir}.bandwidth`, merged.bandwidth, Number.MIN_VALUE),
    closeAfter: integer(`${dir}.closeAfter`, merged.closeAfter, 0),
    resetAfter: integer(`${dir}.resetAfter`, merged.resetAfter, 0),
    timeout: count(`${dir}.timeout`, merged.timeout, 0),
    slowClose: count(`${dir}.slowClose`, merged.slowClose, 0) ?? 0,
  };
}

function emptyStats(): TcpDirectionStats {
  return {
    bytesIn: 0,
    bytesOut: 0,
    reads: 0,
    writes: 0,
    smallestWrite: 0,
    largestWrite: 0,
    dropped: 0,
  };
}

function checkLoopback(what: string, hostname: string): void {
  if (!isLoopback(hostname)) {
    throw new RangeError(`${what} must be a loopback address, got "${hostname}"`);
  }
}

/**
 * A running TCP impairment relay. Made by {@linkcode startTcpRelay}; stop it with
 * {@linkcode TcpRelay.close} or `await using`.
 *
 * @example Slicing a message into 1-3-byte writes
 * ```ts
 * import { startTcpRelay } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * await using relay = await startTcpRelay({ target: server.addr, slice: [1, 3], seed: 1 });
 * using client = await Deno.connect(relay.addr);
 * using conn = await server.accept();
 * await client.write(new TextEncoder().encode("hello, world"));
 * client.closeWrite();
 * const got = await new Response(conn.readable).text();
 * assert.equal(got, "hello, world");
 * assert.ok(relay.stats.up.writes >= 4); // 12 bytes in pieces of at most 3
 * assert.ok(relay.stats.up.largestWrite <= 3);
 * ```
 *
 * @tags allow-net
 */
export class TcpRelay implements AsyncDisposable {
  #server: net.Server;
  #addr: Deno.NetAddr & { transport: "tcp" };
  #seed: number;
  #stats: TcpRelayStats = { connections: 0, open: 0, up: emptyStats(), down: emptyStats() };
  #log: TcpRelayEvent[] = [];
  #sockets = new Set<net.Socket>();
  #connections = new Set<Promise<void>>();
  #start = performance.now();
  #closing: Promise<void> | undefined;
  #recordWrites: boolean;

  /** @internal Use {@linkcode startTcpRelay}. */
  constructor(
    server: net.Server,
    seed: number,
    recordWrites: boolean,
    target: { hostname: string; port: number },
    up: ResolvedTcpImpairments,
    down: ResolvedTcpImpairments,
  ) {
    this.#server = server;
    this.#seed = seed;
    this.#recordWrites = recordWrites;
    const info = server.address() as net.AddressInfo;
    this.#addr = { transport: "tcp", hostname: info.address, port: info.port };
    server.on("connection", (client: net.Socket) => {
      const done = this.#relay(client, target, up, down);
      this.#connections.add(done);
      done.finally(() => this.#connections.delete(done));
    });
  }

  /** The address clients connect to. */
  get addr(): Deno.NetAddr & { transport: "tcp" } {
    return this.#addr;
  }

  /** The seed in use (the one given, or the random one picked). */
  get seed(): number {
    return this.#seed;
  }

  /** Live counters: bytes, reads and writes per direction, summed over connections. */
  get stats(): TcpRelayStats {
    return this.#stats;
  }

  /**
   * What the relay did, in order: opens, limits, resets, timeouts, closes (and every write, with
   * `record`). At most 100,000 events are kept.
   */
  get log(): readonly TcpRelayEvent[] {
    return this.#log;
  }

  #record(event: Omit<TcpRelayEvent, "time">): void {
    if (this.#log.length >= MAX_LOG) return;
    this.#log.push({ ...event, time: Math.round(performance.now() - this.#start) });
  }

  #track(socket: net.Socket): Promise<void> {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {}); // handled through "close" and the directions
    return new Promise<void>((resolve) => {
      socket.once("close", () => {
        this.#sockets.delete(socket);
        resolve();
      });
    });
  }

  async #relay(
    client: net.Socket,
    target: { hostname: string; port: number },
    up: ResolvedTcpImpairments,
    down: ResolvedTcpImpairments,
  ): Promise<void> {
    const id = this.#stats.connections++;
    this.#stats.open++;
    client.pause();
    const clientClosed = this.#track(client);
    if (this.#closing) client.destroy();
    const server = net.connect({ host: target.hostname, port: target.port, allowHalfOpen: true });
    const serverClosed = this.#track(server);
    const connected = await Promise.race([
      once(server, "connect").then(() => true, () => false),
      serverClosed.then(() => false),
    ]);
    if (!connected || client.destroyed) {
      if (!connected) this.#record({ connection: id, event: "connect-failed" });
      client.destroy();
      server.destroy();
    } else {
      this.#record({ connection: id, event: "open" });
      this.#pipe(id, client, server, up, down);
      client.resume();
    }
    await Promise.all([clientClosed, serverClosed]);
    this.#stats.open--;
    this.#record({ connection: id, event: "closed" });
  }

  #pipe(
    id: number,
    client: net.Socket,
    server: net.Socket,
    up: ResolvedTcpImpairments,
    down: ResolvedTcpImpairments,
  ): void {
    let over = false;
    const finish = (how: "close" | "reset"): void => {
      if (over) return;
      over = true;
      directions.forEach((d) => d.stop());
      for (const socket of [client, server]) {
        if (how === "reset") socket.resetAndDestroy();
        else {
          // FIN after what was written; a peer that never reads cannot hold the socket open.
          const force = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
          socket.once("close", () => clearTimeout(force));
          socket.end(() => socket.destroy());
        }
      }
    };
    const make = (
      dir: "up" | "down",
      src: net.Socket,
      dst: net.Socket,
      imp: ResolvedTcpImpairments,
    ) => {
      const stream = id * 4 + (dir === "up" ? 0 : 2);
      return new RelayDirection(
        src,
        dst,
        imp,
        [seededRandom(this.#seed, stream), seededRandom(this.#seed, stream + 1)],
        this.#stats[dir],
        {
          limit: (kind, bytes) => {
            this.#record({ connection: id, direction: dir, event: kind, bytes });
            finish(kind === "reset-after" ? "reset" : "close");
          },
          failed: () => finish("reset"),
          wrote: this.#recordWrites
            ? (bytes) => this.#record({ connection: id, direction: dir, event: "write", bytes })
            : undefined,
        },
      );
    };
    const directions = [make("up", client, server, up), make("down", server, client, down)];
    // A peer's reset (or any socket error) is passed on as a reset to the other peer.
    for (const [socket, other] of [[client, server], [server, client]] as const) {
      socket.on("close", (hadError: boolean) => {
        if (!hadError || over) return;
        this.#record({ connection: id, event: "reset" });
        over = true;
        directions.forEach((d) => d.stop());
        other.resetAndDestroy();
      });
    }
    for (const [dir, imp] of [["up", up], ["down", down]] as const) {
      if (imp.timeout !== undefined && imp.timeout > 0) {
        const timer = setTimeout(() => {
          this.#record({ connection: id, direction: dir, event: "timeout" });
          finish("close");
        }, imp.timeout);
        client.once("close", () => clearTimeout(timer));
      }
    }
  }

  /** Stops listening and destroys every open connection at once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = once(this.#server, "close");
      this.#server.close();
      for (const socket of this.#sockets) socket.destroy();
      await closed;
      await Promise.all(this.#connections);
    })();
    return this.#closing;
  }

  /** Same as {@linkcode TcpRelay.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a TCP impairment relay on loopback in front of `options.target`. Every connection to
 * {@linkcode TcpRelay.addr} is relayed to the target with the impairments applied: the top-level
 * ones in both directions, `up` (client → server) and `down` (server → client) overriding them.
 *
 * @example A reset after 10 bytes
 * ```ts
 * import { startTcpRelay } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission.
 * using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * await using relay = await startTcpRelay({ target: server.addr, up: { resetAfter: 10 } });
 * using client = await Deno.connect(relay.addr);
 * using conn = await server.accept();
 * await client.write(new Uint8Array(100));
 * const buffer = new Uint8Array(100);
 * let got = 0;
 * try {
 *   for (let n; (n = await conn.read(buffer.subarray(got))) !== null;) got += n;
 * } catch (error) {
 *   assert.ok(error instanceof Deno.errors.ConnectionReset);
 * }
 * assert.equal(got, 10);
 * assert.equal(relay.log.find((e) => e.event === "reset-after")?.bytes, 10);
 * ```
 *
 * @param options Where to listen, where to connect, the impairments and the seed.
 * @returns The running relay.
 * @throws {RangeError} When an address is not loopback or an impairment is out of range.
 * @throws {TypeError} When an impairment has the wrong type.
 * @tags allow-net
 */
export async function startTcpRelay(options: TcpRelayOptions): Promise<TcpRelay> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  const target = options.target;
  if (target === null || typeof target !== "object") {
    throw new TypeError("target must be { hostname?, port }");
  }
  const targetHost = target.hostname ?? "127.0.0.1";
  const targetPort = integer("target.port", target.port, 1);
  if (targetPort === undefined || targetPort > 65535) {
    throw new RangeError(`target.port must be 1 to 65535, got ${String(target.port)}`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  checkLoopback("hostname", hostname);
  checkLoopback("target.hostname", targetHost);
  const port = integer("port", options.port ?? 0, 0)!;
  if (port > 65535) throw new RangeError(`port must be 0 to 65535, got ${port}`);
  const seed = integer("seed", options.seed ?? randomSeed(), -Number.MAX_SAFE_INTEGER)!;
  const up = resolveImpairments(options, options.up, "up");
  const down = resolveImpairments(options, options.down, "down");
  if (options.record !== undefined && typeof options.record !== "boolean") {
    throw new TypeError("record must be a boolean");
  }
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  server.listen(port, hostname);
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([error]) => {
      throw error;
    }),
  ]);
  return new TcpRelay(
    server,
    seed,
    options.record ?? false,
    { hostname: targetHost, port: targetPort },
    up,
    down,
  );
}
