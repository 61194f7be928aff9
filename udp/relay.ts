// Copyright 2025 the sockkit authors. MIT license.
/**
 * A UDP impairment relay for loopback: between a client and a server it loses, duplicates,
 * reorders, corrupts, truncates, delays and rate-limits datagrams on purpose, like Linux netem,
 * plus a seed (the same seed and the same datagrams give the same fates) and a log of what it did
 * to which datagram. Loopback itself never loses or reorders, so this is how to watch it happen.
 *
 * @module
 */

import { type DatagramSocket, openDatagram } from "./datagram_socket.ts";
import { isLoopback, randomSeed, seededRandom } from "../tcp/relay_random.ts";
import {
  type Deliver,
  type ResolvedUdpImpairments,
  UdpDirection,
  type UdpDirectionStats,
  type UdpRelayLogEntry,
} from "./relay_direction.ts";

export type { UdpDirectionStats, UdpRelayLogEntry } from "./relay_direction.ts";

/** What a {@linkcode UdpRelay} does to the datagrams of one direction. Unset means untouched. */
export interface UdpImpairments {
  /**
   * The probability (0 to 1) that a datagram is dropped.
   *
   * @default {0}
   */
  loss?: number;
  /**
   * The probability that a datagram is sent twice.
   *
   * @default {0}
   */
  duplicate?: number;
  /**
   * The probability that a datagram is held back and sent after the next one.
   *
   * @default {0}
   */
  reorder?: number;
  /**
   * The probability that one bit of a datagram is flipped.
   *
   * @default {0}
   */
  corrupt?: number;
  /**
   * Cut every longer datagram to this many bytes.
   *
   * @default {undefined}
   */
  truncate?: number;
  /**
   * Milliseconds every datagram is delayed.
   *
   * @default {0}
   */
  delay?: number;
  /**
   * Up to this many milliseconds added to or taken from `delay`, per datagram; datagrams may
   * overtake each other, as on a real path.
   *
   * @default {0}
   */
  jitter?: number;
  /**
   * The most datagrams per second sent on; more wait in a queue, and those that would wait over
   * a second are dropped.
   *
   * @default {undefined}
   */
  rate?: number;
}

/** Settings for {@linkcode startUdpRelay}. */
export interface UdpRelayOptions extends UdpImpairments {
  /** The server datagrams are relayed to: a loopback host (default `127.0.0.1`) and port. */
  target: { hostname?: string; port: number };
  /**
   * The loopback address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; `0` lets the OS pick.
   *
   * @default {0}
   */
  port?: number;
  /**
   * The seed of every random choice; each direction draws from its own stream.
   *
   * @default {a random seed, reported in UdpRelay.seed}
   */
  seed?: number;
  /**
   * The most entries {@linkcode UdpRelay.log} keeps.
   *
   * @default {100000}
   */
  logLimit?: number;
  /** Overrides for client → server only. */
  up?: UdpImpairments;
  /** Overrides for server → client only. */
  down?: UdpImpairments;
}

/** The relay's counters per direction. */
export interface UdpRelayStats {
  /** Client → server. */
  up: UdpDirectionStats;
  /** Server → client. */
  down: UdpDirectionStats;
}

const KEYS = [
  "loss",
  "duplicate",
  "reorder",
  "corrupt",
  "truncate",
  "delay",
  "jitter",
  "rate",
] as const;

const MAX_CLIENTS = 1024;

function number(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!(value >= min && value <= max)) {
    throw new RangeError(`${name} must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function resolve(base: UdpImpairments, over: UdpImpairments | undefined, dir: string) {
  const m: UdpImpairments = { ...base };
  for (const key of KEYS) {
    if (over?.[key] !== undefined) (m as Record<string, unknown>)[key] = over[key];
  }
  const truncate = number(`${dir}.truncate`, m.truncate, 0, 65_535);
  if (truncate !== undefined && !Number.isInteger(truncate)) {
    throw new RangeError(`${dir}.truncate must be an integer, got ${truncate}`);
  }
  const resolved: ResolvedUdpImpairments = {
    loss: number(`${dir}.loss`, m.loss, 0, 1) ?? 0,
    duplicate: number(`${dir}.duplicate`, m.duplicate, 0, 1) ?? 0,
    reorder: number(`${dir}.reorder`, m.reorder, 0, 1) ?? 0,
    corrupt: number(`${dir}.corrupt`, m.corrupt, 0, 1) ?? 0,
    truncate,
    delay: number(`${dir}.delay`, m.delay, 0, 60_000) ?? 0,
    jitter: number(`${dir}.jitter`, m.jitter, 0, 60_000) ?? 0,
    rate: number(`${dir}.rate`, m.rate, Number.MIN_VALUE, 1e9),
  };
  return resolved;
}

function emptyStats(): UdpDirectionStats {
  return {
    received: 0,
    forwarded: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    truncated: 0,
  };
}

/**
 * A running UDP impairment relay. Each client address gets its own socket towards the target,
 * so the server's replies find their way back (like a NAT); datagrams from more than 1024
 * client addresses are ignored. Made by {@linkcode startUdpRelay}.
 *
 * @example Half the datagrams lost: the same ones for the same seed
 * ```ts
 * import { openDatagram, startUdpRelay } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission and `--unstable-net`.
 * async function lostOnce(seed: number): Promise<number[]> {
 *   await using server = openDatagram();
 *   await using relay = await startUdpRelay({ target: server.addr as Deno.NetAddr, loss: 0.5, seed });
 *   await using client = openDatagram();
 *   for (let i = 0; i < 20; i++) await client.send(new Uint8Array([i]), relay.addr);
 *   const got: number[] = [];
 *   try {
 *     for (;;) got.push((await server.receive({ timeout: 300 })).data[0]);
 *   } catch (error) {
 *     assert.ok(error instanceof Deno.errors.TimedOut);
 *   }
 *   const lost = relay.log.filter((entry) => entry.lost).map((entry) => entry.seq);
 *   assert.deepEqual([...got, ...lost].sort((a, b) => a - b), [...Array(20).keys()]);
 *   return lost;
 * }
 * const lost = await lostOnce(7);
 * assert.ok(lost.length > 0 && lost.length < 20);
 * assert.deepEqual(await lostOnce(7), lost);
 * ```
 *
 * @tags allow-net
 */
export class UdpRelay implements AsyncDisposable {
  #socket: DatagramSocket;
  #target: { hostname: string; port: number };
  #seed: number;
  #stats: UdpRelayStats = { up: emptyStats(), down: emptyStats() };
  #log: UdpRelayLogEntry[] = [];
  #up: UdpDirection;
  #down: UdpDirection;
  #clients = new Map<string, DatagramSocket>();
  #loops: Promise<void>[] = [];
  #closing: Promise<void> | undefined;

  /** @internal Use {@linkcode startUdpRelay}. */
  constructor(
    socket: DatagramSocket,
    target: { hostname: string; port: number },
    seed: number,
    up: ResolvedUdpImpairments,
    down: ResolvedUdpImpairments,
    logLimit: number,
  ) {
    this.#socket = socket;
    this.#target = target;
    this.#seed = seed;
    this.#up = new UdpDirection(
      "up",
      up,
      seededRandom(seed, 0),
      this.#stats.up,
      this.#log,
      logLimit,
    );
    this.#down = new UdpDirection(
      "down",
      down,
      seededRandom(seed, 1),
      this.#stats.down,
      this.#log,
      logLimit,
    );
    this.#loops.push(this.#listen());
  }

  /** The address clients send to. */
  get addr(): { hostname: string; port: number } {
    const addr = this.#socket.addr as Deno.NetAddr;
    return { hostname: addr.hostname, port: addr.port };
  }

  /** The seed in use (the one given, or the random one picked). */
  get seed(): number {
    return this.#seed;
  }

  /** Live counters per direction. */
  get stats(): UdpRelayStats {
    return this.#stats;
  }

  /** What the relay did to which datagram, in order (untouched datagrams are not listed). */
  get log(): readonly UdpRelayLogEntry[] {
    return this.#log;
  }

  /** Receives from clients until closed; a failed receive (an ICMP error, say) is skipped. */
  async #listen(): Promise<void> {
    while (!this.#socket.closed) {
      let datagram;
      try {
        datagram = await this.#socket.receive();
      } catch {
        // closed (the loop ends) or a transient error (then a pause, so it cannot spin)
        if (!this.#socket.closed) await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      const { data, addr } = datagram;
      const from = addr as Deno.NetAddr;
      const key = `${from.hostname}|${from.port}`;
      let upstream = this.#clients.get(key);
      if (upstream === undefined) {
        if (this.#clients.size >= MAX_CLIENTS) continue;
        upstream = openDatagram({ hostname: this.#target.hostname, port: 0 });
        this.#clients.set(key, upstream);
        this.#loops.push(this.#answer(upstream, { hostname: from.hostname, port: from.port }));
      }
      const socket = upstream;
      const deliver: Deliver = (bytes) => socket.send(bytes, this.#target);
      this.#up.handle(data, deliver);
    }
  }

  async #answer(upstream: DatagramSocket, client: { hostname: string; port: number }) {
    const deliver: Deliver = (bytes) => this.#socket.send(bytes, client);
    while (!upstream.closed) {
      try {
        this.#down.handle((await upstream.receive()).data, deliver);
      } catch {
        // closed (the loop ends), or the target's port refused a datagram: skip it
        if (!upstream.closed) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  }

  /** Stops relaying: drops datagrams still delayed or held, closes every socket. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([this.#up.close(), this.#down.close()]);
      this.#socket.close();
      for (const socket of this.#clients.values()) socket.close();
      await Promise.allSettled(this.#loops);
      await this.#socket[Symbol.asyncDispose]();
      for (const socket of this.#clients.values()) await socket[Symbol.asyncDispose]();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode UdpRelay.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a UDP impairment relay on loopback in front of `options.target`: datagrams sent to
 * {@linkcode UdpRelay.addr} go to the target and its replies come back, impaired as set (the
 * top-level impairments in both directions, `up`/`down` overriding them). Needs `--unstable-net`.
 *
 * @example Every datagram duplicated and cut to 4 bytes
 * ```ts
 * import { openDatagram, startUdpRelay } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net` permission and `--unstable-net`.
 * await using server = openDatagram();
 * await using relay = await startUdpRelay({
 *   target: server.addr as Deno.NetAddr,
 *   up: { duplicate: 1, truncate: 4 },
 * });
 * await using client = openDatagram();
 * await client.send(new TextEncoder().encode("hello"), relay.addr);
 * const first = await server.receive({ timeout: 2000 });
 * const second = await server.receive({ timeout: 2000 });
 * assert.equal(new TextDecoder().decode(first.data), "hell");
 * assert.equal(new TextDecoder().decode(second.data), "hell");
 * assert.deepEqual(relay.log[0], {
 *   direction: "up",
 *   seq: 0,
 *   size: 5,
 *   truncated: 4,
 *   duplicated: true,
 * });
 * ```
 *
 * @param options Where to listen, where to send, the impairments and the seed.
 * @returns The running relay.
 * @throws {RangeError} When an address is not loopback or an impairment is out of range.
 * @throws {TypeError} When an impairment has the wrong type.
 * @tags allow-net
 */
export function startUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  const target = options.target;
  if (target === null || typeof target !== "object") {
    throw new TypeError("target must be { hostname?, port }");
  }
  const targetHost = target.hostname ?? "127.0.0.1";
  const hostname = options.hostname ?? "127.0.0.1";
  for (const [what, host] of [["hostname", hostname], ["target.hostname", targetHost]]) {
    if (!isLoopback(host)) {
      throw new RangeError(`${what} must be a loopback address, got "${host}"`);
    }
  }
  const targetPort = number("target.port", target.port, 1, 65535)!;
  const port = number("port", options.port ?? 0, 0, 65535)!;
  const seed = number("seed", options.seed ?? randomSeed(), -(2 ** 53), 2 ** 53)!;
  const logLimit = number("logLimit", options.logLimit ?? 100_000, 0, 2 ** 32)!;
  const up = resolve(options, options.up, "up");
  const down = resolve(options, options.down, "down");
  const socket = openDatagram({ hostname, port });
  return Promise.resolve(
    new UdpRelay(socket, { hostname: targetHost, port: targetPort }, seed, up, down, logLimit),
  );
}
