// Copyright 2025 the sockkit authors. MIT license.
/**
 * {@linkcode openDatagram} and {@linkcode DatagramSocket}: UDP and `unixpacket` sockets on
 * `Deno.listenDatagram`, with the size limits enforced, truncation reported, and sends kept in
 * order.
 *
 * @module
 */

import { DatagramTooLargeError } from "./errors.ts";
import { type AddressFamily, ipFamilyOf, maxPayloadFor } from "./limits.ts";
import {
  joinMulticastGroup,
  type JoinMulticastOptions,
  type MulticastMembership,
} from "./multicast.ts";

/** The datagram transports: UDP over IP, or unix-domain datagrams on a socket file. */
export type DatagramTransport = "udp" | "unixpacket";

/** Where a datagram goes: a UDP host and port, or the path of a `unixpacket` socket file. */
export type DatagramDestination = { hostname: string; port: number } | { path: string };

/** The default size of the buffer that {@linkcode DatagramSocket.receive} reads UDP into. */
export const DEFAULT_UDP_RECEIVE_BUFFER_SIZE = 65_536;

/**
 * The default size of the buffer that {@linkcode DatagramSocket.receive} reads `unixpacket`
 * datagrams into: above the 212,960 bytes Linux lets one carry by default.
 */
export const DEFAULT_UNIXPACKET_RECEIVE_BUFFER_SIZE = 262_144;

/** Settings for {@linkcode openDatagram}. */
export interface OpenDatagramOptions {
  /**
   * `"udp"` for UDP over IPv4 or IPv6, `"unixpacket"` for a unix-domain datagram socket
   * (`SOCK_DGRAM` on a socket file, despite the name).
   *
   * @default {"udp"}
   */
  transport?: DatagramTransport;
  /**
   * UDP only: the local address to bind. Loopback by default, so nothing is reachable from other
   * machines unless you ask for it; use `"::1"` for IPv6.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * UDP only: the local port; `0` lets the OS pick a free one (read it from
   * {@linkcode DatagramSocket.addr}).
   *
   * @default {0}
   */
  port?: number;
  /**
   * `unixpacket` only: the socket file to bind. Without it the socket is unbound: it can send
   * but nobody can send to it.
   *
   * @default {undefined}
   */
  path?: string;
  /**
   * The size of the socket's own buffer that a {@linkcode DatagramSocket.receive} without a
   * `buffer` reads into. The defaults hold any datagram the transport can carry, so such a
   * receive never truncates. A smaller value truncates like a small caller buffer does.
   *
   * @default {65_536 for "udp", 262_144 for "unixpacket"}
   */
  receiveBufferSize?: number;
  /**
   * Whether {@linkcode DatagramSocket.send} refuses a UDP datagram over the destination's
   * limit itself, before the OS sees it. With `false` the OS refuses it instead (`EMSGSIZE`),
   * which is mapped to the same {@linkcode DatagramTooLargeError}: useful to watch the OS do it.
   *
   * @default {true}
   */
  checkSize?: boolean;
  /**
   * UDP only: let other sockets bind the same address and port (`SO_REUSEADDR`), as several
   * listeners to one multicast group on one host do.
   *
   * @default {false}
   */
  reuseAddress?: boolean;
}

/** Settings for one {@linkcode DatagramSocket.receive}. */
export interface ReceiveOptions {
  /**
   * Your own buffer to receive into. The datagram's bytes land in it and `data` is a view of it
   * (it aliases `buffer`, and your next receive into `buffer` overwrites it). Whatever does not
   * fit is dropped by the OS without a word; `truncated` then says so as a "maybe".
   *
   * @default {undefined}
   */
  buffer?: Uint8Array<ArrayBuffer>;
  /**
   * Milliseconds to wait for a datagram before throwing `Deno.errors.TimedOut`. A datagram that
   * arrives later is not lost: the next receive gets it.
   *
   * @default {undefined}
   */
  timeout?: number;
}

/** One received datagram. */
export interface Datagram {
  /**
   * The datagram's bytes. Without a caller `buffer` this is a fresh copy that is yours to keep
   * and change; with one it is a view of that buffer.
   */
  data: Uint8Array<ArrayBuffer>;
  /** The sender's address (a `unixpacket` sender without a bound path has `path: null`). */
  addr: Deno.NetAddr | Deno.UnixAddr;
  /**
   * `true` when the receive buffer came back full, which means the datagram *may* have been cut
   * short: the OS drops the excess silently and Deno does not report `MSG_TRUNC`, so a datagram
   * exactly as long as the buffer looks the same as a longer one. `false` means it certainly
   * arrived whole.
   */
  truncated: boolean;
}

const TIMED_OUT: unique symbol = Symbol("timed out");
const EMPTY = new Uint8Array(0);

interface QueuedSend {
  data: Uint8Array;
  addr: Deno.Addr;
  family: AddressFamily;
  limit: number | undefined;
  resolve: (n: number) => void;
  reject: (err: unknown) => void;
}

interface QueuedReceive {
  buffer: Uint8Array<ArrayBuffer> | undefined;
  timeout: number | undefined;
  resolve: (datagram: Datagram) => void;
  reject: (err: unknown) => void;
}

function isEmsgsize(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === "EMSGSIZE";
}

function closedError(): Error {
  return new Deno.errors.BadResource("DatagramSocket is closed");
}

function interruptedError(): Error {
  return new Deno.errors.Interrupted("DatagramSocket was closed while the receive waited");
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<typeof TIMED_OUT>((resolve) => {
    id = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(id));
}

function checkBufferSize(size: unknown, name: string): number {
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > 2 ** 30) {
    throw new RangeError(`${name} must be an integer from 1 to 2^30, got ${String(size)}`);
  }
  return size;
}

/**
 * A datagram socket: UDP or `unixpacket`. Every `send` is one datagram and every `receive` gets
 * exactly one, whole or (only with a buffer that is too small) visibly maybe-truncated; nothing
 * is ever merged or split as on TCP. Datagrams can still be lost, duplicated or, off loopback,
 * reordered: UDP promises none of that.
 *
 * Open one with {@linkcode openDatagram}; the constructor wraps a `Deno.DatagramConn` you
 * already have.
 *
 * @example Send and receive on loopback
 * ```ts
 * import { openDatagram } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * await using server = openDatagram({ hostname: "127.0.0.1", port: 0 });
 * await using client = openDatagram({ hostname: "127.0.0.1", port: 0 });
 * await client.send(new TextEncoder().encode("hello"), server.addr as Deno.NetAddr);
 * await client.send(new Uint8Array(0), server.addr as Deno.NetAddr);
 *
 * const first = await server.receive();
 * assert.equal(new TextDecoder().decode(first.data), "hello");
 * assert.equal(first.truncated, false);
 * const empty = await server.receive();
 * assert.equal(empty.data.length, 0);
 * ```
 */
export class DatagramSocket implements AsyncIterable<Datagram>, AsyncDisposable {
  #conn: Deno.DatagramConn;
  #scratch: Uint8Array<ArrayBuffer>;
  #checkSize: boolean;
  #family: AddressFamily;
  #closed = false;
  #ops = new Set<Promise<unknown>>();
  // Sends: at most one in the OS at a time (that keeps them in order); the rest wait here.
  #sending: Promise<number> | undefined;
  #sendQueue: QueuedSend[] = [];
  #sendData: Uint8Array = EMPTY;
  #sendFamily: AddressFamily = "ipv4";
  #sendLimit: number | undefined;
  // The last destination, checked once: a socket usually sends to few peers.
  #lastHost: string | undefined;
  #lastPort = 0;
  #lastAddr: Deno.Addr | undefined;
  #lastFamily: AddressFamily = "ipv4";
  // Receives: one at a time, in call order; the rest wait here.
  #receiving: Promise<unknown> | undefined;
  #receiveQueue: QueuedReceive[] = [];
  #pending: Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> | undefined;

  /**
   * Wraps an open `Deno.DatagramConn`; the socket owns it from now on and closes it.
   *
   * @param conn The connection from `Deno.listenDatagram`.
   * @param options `receiveBufferSize` and `checkSize` as in {@linkcode OpenDatagramOptions}.
   */
  constructor(
    conn: Deno.DatagramConn,
    options: Pick<OpenDatagramOptions, "receiveBufferSize" | "checkSize"> = {},
  ) {
    const transport = conn.addr.transport;
    if (transport !== "udp" && transport !== "unixpacket") {
      throw new TypeError(`not a datagram socket: transport is ${transport}`);
    }
    this.#conn = conn;
    this.#family = transport === "unixpacket"
      ? "unix"
      : ipFamilyOf((conn.addr as Deno.NetAddr).hostname) ?? "ipv4";
    this.#scratch = new Uint8Array(
      checkBufferSize(
        options.receiveBufferSize ??
          (transport === "udp"
            ? DEFAULT_UDP_RECEIVE_BUFFER_SIZE
            : DEFAULT_UNIXPACKET_RECEIVE_BUFFER_SIZE),
        "receiveBufferSize",
      ),
    );
    this.#checkSize = options.checkSize ?? true;
  }

  /** The socket's own address: where others send to. */
  get addr(): Deno.NetAddr | Deno.UnixAddr {
    return this.#conn.addr as Deno.NetAddr | Deno.UnixAddr;
  }

  /** `"udp"` or `"unixpacket"`. */
  get transport(): DatagramTransport {
    return this.#conn.addr.transport as DatagramTransport;
  }

  /** The socket's address family: `"ipv4"`, `"ipv6"` or `"unix"`. */
  get family(): AddressFamily {
    return this.#family;
  }

  /**
   * The largest datagram this socket can send to a destination of its own family
   * (65,507 bytes for IPv4, 65,527 for IPv6), or `undefined` for `unixpacket`.
   */
  get maxPayload(): number | undefined {
    return maxPayloadFor(this.#family);
  }

  /** The size of the buffer a receive without a caller `buffer` reads into. */
  get receiveBufferSize(): number {
    return this.#scratch.length;
  }

  /**
   * Joins a multicast group, so datagrams sent to it reach this socket (bind the socket to the
   * group's address, or to a wildcard, and the group's port). The membership also sets whether
   * the socket's own multicast datagrams loop back to this host and, for IPv4, their TTL.
   *
   * Requires `allow-net` permission for the group's address.
   *
   * @example A group on this host only (not run here: it needs net access to the group)
   * ```ts ignore
   * import { openDatagram } from "@sockkit/sockkit/udp";
   * import assert from "node:assert/strict";
   *
   * const group = "239.255.77.77";
   * await using rx = openDatagram({ hostname: group, port: 0 }); // only the group's datagrams
   * await using joined = await rx.joinMulticast(group); // on the loopback interface
   * await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 }); // sends via loopback
   * await using sending = await tx.joinMulticast(group, { ttl: 0, loopback: true }); // host only
   * await tx.send(new TextEncoder().encode("hi"), { hostname: group, port: (rx.addr as Deno.NetAddr).port });
   * assert.equal(new TextDecoder().decode((await rx.receive({ timeout: 2000 })).data), "hi");
   * ```
   *
   * @tags allow-net
   * @param group The group's address: 224.0.0.0/4 for an IPv4 socket, ff00::/8 for IPv6.
   * @param options The interface (loopback by default for IPv4), loopback and TTL.
   * @returns The membership; leave with `leave()` or `await using`.
   * @throws {TypeError} For a unixpacket socket, a non-multicast address, or a family mismatch.
   */
  joinMulticast(group: string, options?: JoinMulticastOptions): Promise<MulticastMembership> {
    if (this.#closed) return Promise.reject(closedError());
    return joinMulticastGroup(this.#conn, this.#family, group, options);
  }

  /** Whether {@linkcode DatagramSocket.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `data` as one datagram to `to`, and resolves to the number of bytes sent. An empty
   * `data` is a valid, empty datagram. Sends go out in the order they were called, even when
   * not awaited one by one (bare `Deno.DatagramConn.send` calls were seen to go out reversed).
   *
   * A UDP datagram over the destination family's limit (65,507 bytes to IPv4, 65,527 to IPv6;
   * for a host name, the socket's own family) is refused with {@linkcode DatagramTooLargeError}
   * before the OS sees it; the OS's own `EMSGSIZE` maps to the same error. A resolved send only
   * means the datagram left: UDP does not tell you whether it arrived.
   *
   * Requires `allow-net` permission.
   *
   * @example Over the limit
   * ```ts
   * import { DatagramTooLargeError, openDatagram } from "@sockkit/sockkit/udp";
   * import assert from "node:assert/strict";
   *
   * await using socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
   * const to = socket.addr as Deno.NetAddr;
   * assert.equal(await socket.send(new Uint8Array(65_507), to), 65_507);
   * await assert.rejects(socket.send(new Uint8Array(65_508), to), DatagramTooLargeError);
   * assert.equal((await socket.receive()).data.length, 65_507);
   * ```
   *
   * @tags allow-net
   * @param data The datagram's bytes. They are read when the send runs, not copied when you
   *   call: do not change them until the returned promise settles.
   * @param to The destination: `{ hostname, port }` for UDP, `{ path }` for `unixpacket`.
   * @returns The number of bytes sent.
   */
  send(data: Uint8Array, to: DatagramDestination): Promise<number> {
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(new TypeError("data must be a Uint8Array"));
    }
    let addr: Deno.Addr;
    let family: AddressFamily;
    const host = to !== null && typeof to === "object"
      ? (to as { hostname?: unknown }).hostname
      : undefined;
    if (
      host !== undefined && host === this.#lastHost &&
      (to as { port?: unknown }).port === this.#lastPort
    ) {
      addr = this.#lastAddr!;
      family = this.#lastFamily;
    } else {
      try {
        [addr, family] = this.#destination(to);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#closed) return Promise.reject(closedError());
    const limit = maxPayloadFor(family);
    if (this.#checkSize && limit !== undefined && data.length > limit) {
      return Promise.reject(new DatagramTooLargeError(data.length, limit, family));
    }
    if (this.#sending === undefined) return this.#sendNow(data, addr, family, limit);
    // wait for the ones before: bare concurrent Deno sends were seen to go out reversed
    return new Promise<number>((resolve, reject) => {
      this.#sendQueue.push({ data, addr, family, limit, resolve, reject });
    });
  }

  #sendNow(
    data: Uint8Array,
    addr: Deno.Addr,
    family: AddressFamily,
    limit: number | undefined,
  ): Promise<number> {
    this.#sendData = data;
    this.#sendFamily = family;
    this.#sendLimit = limit;
    return this.#sending = this.#conn.send(data, addr).then(this.#sent, this.#sendFailed);
  }

  #sent = (n: number): number => {
    this.#sendNext();
    return n;
  };

  #sendFailed = (err: unknown): never => {
    const data = this.#sendData;
    const limit = this.#sendLimit;
    const family = this.#sendFamily;
    this.#sendNext();
    if (isEmsgsize(err)) {
      throw new DatagramTooLargeError(
        data.length,
        limit !== undefined && data.length > limit ? limit : undefined,
        family,
        { cause: err },
      );
    }
    throw err;
  };

  /** Starts the next queued send, or marks the socket idle. */
  #sendNext(): void {
    this.#sendData = EMPTY;
    const next = this.#sendQueue.shift();
    if (next === undefined) {
      this.#sending = undefined;
      return;
    }
    if (this.#closed) {
      this.#sending = undefined;
      const queued = [next, ...this.#sendQueue];
      this.#sendQueue = [];
      for (const send of queued) send.reject(closedError());
      return;
    }
    this.#sendNow(next.data, next.addr, next.family, next.limit).then(next.resolve, next.reject);
  }

  #destination(to: DatagramDestination): [Deno.Addr, AddressFamily] {
    if (to === null || typeof to !== "object") {
      throw new TypeError("destination must be an object: { hostname, port } or { path }");
    }
    if (this.transport === "unixpacket") {
      const path = (to as { path?: unknown }).path;
      if (typeof path !== "string" || path === "") {
        throw new TypeError("a unixpacket destination needs a non-empty path");
      }
      return [{ transport: "unixpacket", path }, "unix"];
    }
    const { hostname, port } = to as { hostname?: unknown; port?: unknown };
    if (typeof hostname !== "string" || hostname === "") {
      throw new TypeError("a UDP destination needs a non-empty hostname");
    }
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new RangeError(`destination port must be an integer from 1 to 65535, got ${port}`);
    }
    const family = ipFamilyOf(hostname) ?? this.#family;
    const bare = hostname.startsWith("[") && hostname.endsWith("]")
      ? hostname.slice(1, -1)
      : hostname;
    const addr: Deno.NetAddr = { transport: "udp", hostname: bare, port };
    this.#lastHost = hostname;
    this.#lastPort = port;
    this.#lastAddr = addr;
    this.#lastFamily = family;
    return [addr, family];
  }

  /**
   * Waits for the next datagram and returns it with its sender and a `truncated` flag.
   *
   * Without a `buffer` the datagram is read into the socket's own buffer, which holds any
   * datagram the transport can carry, and `data` is a copy that is yours. (A bare
   * `Deno.DatagramConn.receive()` reads into 65,507 bytes and silently cuts longer IPv6 and
   * `unixpacket` datagrams.) With a `buffer`, `data` is a view of it, and `truncated` is `true`
   * when the buffer came back full: the rest, if any, was dropped, and nobody can tell you how
   * much.
   *
   * Concurrent receives are served one after another. Closing the socket ends a waiting receive
   * with `Deno.errors.Interrupted`; receiving on a closed socket throws
   * `Deno.errors.BadResource`.
   *
   * Requires `allow-net` permission.
   *
   * @example A buffer that is too small
   * ```ts
   * import { openDatagram } from "@sockkit/sockkit/udp";
   * import assert from "node:assert/strict";
   *
   * await using socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
   * await socket.send(new Uint8Array(100).fill(7), socket.addr as Deno.NetAddr);
   * const { data, truncated } = await socket.receive({ buffer: new Uint8Array(10) });
   * assert.equal(data.length, 10); // the other 90 bytes are gone
   * assert.equal(truncated, true);
   * ```
   *
   * @example Waiting with a timeout
   * ```ts
   * import { openDatagram } from "@sockkit/sockkit/udp";
   * import assert from "node:assert/strict";
   *
   * await using socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
   * await assert.rejects(socket.receive({ timeout: 20 }), Deno.errors.TimedOut);
   * ```
   *
   * @tags allow-net
   * @param options A `buffer` to receive into and a `timeout` in milliseconds.
   * @returns The datagram.
   */
  receive(options: ReceiveOptions = {}): Promise<Datagram> {
    const { buffer, timeout } = options ?? {};
    if (buffer !== undefined && !(buffer instanceof Uint8Array)) {
      return Promise.reject(new TypeError("buffer must be a Uint8Array"));
    }
    if (
      timeout !== undefined &&
      (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0)
    ) {
      return Promise.reject(
        new RangeError(`timeout must be a finite number ≥ 0, got ${String(timeout)}`),
      );
    }
    if (this.#closed) return Promise.reject(closedError());
    if (this.#receiving !== undefined) {
      return new Promise<Datagram>((resolve, reject) => {
        this.#receiveQueue.push({ buffer, timeout, resolve, reject });
      });
    }
    return this.#startReceive(buffer, timeout);
  }

  #startReceive(
    buffer: Uint8Array<ArrayBuffer> | undefined,
    timeout: number | undefined,
  ): Promise<Datagram> {
    if (buffer === undefined && timeout === undefined && this.#pending === undefined) {
      // the common case, without an async function or a timer: into our buffer, then a copy
      const op = this.#conn.receive(this.#scratch).then(this.#copied, this.#receiveFailed);
      this.#receiving = op;
      return op;
    }
    const op = this.#receiveNow(buffer, timeout);
    this.#receiving = op;
    op.then(this.#receiveNext, this.#receiveNext);
    return op;
  }

  #copied = ([view, from]: [Uint8Array<ArrayBuffer>, Deno.Addr]): Datagram => {
    // copy before the next receive may read into the same buffer
    const datagram: Datagram = {
      data: view.slice(),
      addr: from as Deno.NetAddr | Deno.UnixAddr,
      truncated: view.length === this.#scratch.length,
    };
    this.#receiveNext();
    return datagram;
  };

  #receiveFailed = (err: unknown): never => {
    this.#receiveNext();
    throw err;
  };

  /** Starts the next queued receive, or marks the socket idle. */
  #receiveNext = (): void => {
    this.#receiving = undefined;
    const next = this.#receiveQueue.shift();
    if (next === undefined) return;
    if (this.#closed) {
      const queued = [next, ...this.#receiveQueue];
      this.#receiveQueue = [];
      for (const receive of queued) receive.reject(interruptedError());
      return;
    }
    this.#startReceive(next.buffer, next.timeout).then(next.resolve, next.reject);
  };

  async #receiveNow(
    buffer: Uint8Array<ArrayBuffer> | undefined,
    timeout: number | undefined,
  ): Promise<Datagram> {
    if (this.#closed) throw interruptedError();
    if (buffer !== undefined && this.#pending === undefined && timeout === undefined) {
      // Straight into the caller's buffer, as the OS does it: the excess is dropped silently.
      const [data, addr] = await this.#track(this.#conn.receive(buffer));
      return {
        data,
        addr: addr as Deno.NetAddr | Deno.UnixAddr,
        truncated: data.length === buffer.length,
      };
    }
    // Into our own buffer. A receive that timed out leaves its read pending here, so a
    // datagram arriving late is handed to the next receive instead of being lost.
    this.#pending ??= this.#track(this.#conn.receive(this.#scratch));
    let result: [Uint8Array<ArrayBuffer>, Deno.Addr] | typeof TIMED_OUT;
    try {
      result = timeout === undefined
        ? await this.#pending
        : await withTimeout(this.#pending, timeout);
    } catch (err) {
      this.#pending = undefined;
      throw err;
    }
    if (result === TIMED_OUT) {
      throw new Deno.errors.TimedOut(`No datagram arrived within ${timeout} ms`);
    }
    this.#pending = undefined;
    const [view, from] = result;
    const addr = from as Deno.NetAddr | Deno.UnixAddr;
    const full = view.length === this.#scratch.length;
    if (buffer === undefined) return { data: view.slice(), addr, truncated: full };
    const n = Math.min(view.length, buffer.length);
    buffer.set(view.subarray(0, n));
    return { data: buffer.subarray(0, n), addr, truncated: full || view.length > buffer.length };
  }

  #track<T>(op: Promise<T>): Promise<T> {
    this.#ops.add(op);
    op.then(
      () => this.#ops.delete(op),
      () => this.#ops.delete(op),
    );
    return op;
  }

  /**
   * Yields datagrams as they arrive, until the socket is closed.
   *
   * @example Usage
   * ```ts
   * import { openDatagram } from "@sockkit/sockkit/udp";
   * import assert from "node:assert/strict";
   *
   * await using socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
   * for (const word of ["one", "two", "three"]) {
   *   await socket.send(new TextEncoder().encode(word), socket.addr as Deno.NetAddr);
   * }
   * const words: string[] = [];
   * for await (const { data } of socket) {
   *   words.push(new TextDecoder().decode(data));
   *   if (words.length === 3) break;
   * }
   * assert.deepEqual(words, ["one", "two", "three"]);
   * ```
   *
   * @returns An async iterator of datagrams.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Datagram, void, undefined> {
    while (!this.#closed) {
      try {
        yield await this.receive();
      } catch (err) {
        if (this.#closed) return;
        throw err;
      }
    }
  }

  /**
   * Closes the socket. A waiting receive ends with `Deno.errors.Interrupted`. Closing twice is
   * harmless.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err;
    }
  }

  /** Closes the socket and waits until its pending reads and writes have ended. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await Promise.allSettled([...this.#ops, this.#sending, this.#receiving]);
  }
}

/**
 * Opens a datagram socket on `Deno.listenDatagram`: UDP bound to `hostname`:`port`
 * (loopback port 0 by default), or `unixpacket` on the socket file `path`.
 *
 * `Deno.listenDatagram` is still an unstable API: run with `--unstable-net`, or put
 * `"unstable": ["net"]` in `deno.json`. Without it this throws `Deno.errors.NotSupported` with a
 * message that names the flag (Deno's own is only "listenDatagram is not a function"). Code that
 * uses only TCP never needs the flag.
 *
 * Requires `allow-net` permission; `unixpacket` also needs `allow-read`, `allow-write`, and net
 * access to the path (`--allow-net=unix:/absolute/path.sock`).
 *
 * @example UDP over IPv6 loopback
 * ```ts
 * import { MAX_UDP_PAYLOAD_IPV6, openDatagram } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * await using a = openDatagram({ hostname: "::1", port: 0 });
 * await using b = openDatagram({ hostname: "::1", port: 0 });
 * assert.equal(a.family, "ipv6");
 * await a.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV6), b.addr as Deno.NetAddr);
 * const { data, truncated } = await b.receive();
 * assert.equal(data.length, 65_527); // whole: 20 bytes more than Deno's default receive keeps
 * assert.equal(truncated, false);
 * ```
 *
 * @example unixpacket (needs net access to the socket paths, so not run here)
 * ```ts ignore
 * import { openDatagram } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await using a = openDatagram({ transport: "unixpacket", path: `${dir}/a.sock` });
 * await using b = openDatagram({ transport: "unixpacket", path: `${dir}/b.sock` });
 * await a.send(new Uint8Array(100_000), { path: `${dir}/b.sock` });
 * assert.equal((await b.receive()).data.length, 100_000); // more than UDP's limit
 * ```
 *
 * @tags allow-net
 * @param options Where to bind, and how to receive and send.
 * @returns The open socket.
 */
export function openDatagram(options: OpenDatagramOptions = {}): DatagramSocket {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  const { transport = "udp", hostname, port, path, receiveBufferSize, checkSize, reuseAddress } =
    options;
  if (transport !== "udp" && transport !== "unixpacket") {
    throw new TypeError(`transport must be "udp" or "unixpacket", got ${String(transport)}`);
  }
  if (receiveBufferSize !== undefined) checkBufferSize(receiveBufferSize, "receiveBufferSize");
  if (checkSize !== undefined && typeof checkSize !== "boolean") {
    throw new TypeError("checkSize must be a boolean");
  }
  if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function") {
    throw new Deno.errors.NotSupported(
      "openDatagram needs Deno's unstable datagram API: run with --unstable-net " +
        '(or add "unstable": ["net"] to deno.json). Deno.listenDatagram is missing without it.',
    );
  }
  let conn: Deno.DatagramConn;
  if (transport === "udp") {
    if (path !== undefined) throw new TypeError('path is for transport "unixpacket"');
    const host = hostname ?? "127.0.0.1";
    if (typeof host !== "string" || host === "") {
      throw new TypeError("hostname must be a non-empty string");
    }
    const p = port ?? 0;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 65_535) {
      throw new RangeError(`port must be an integer from 0 to 65535, got ${String(p)}`);
    }
    if (reuseAddress !== undefined && typeof reuseAddress !== "boolean") {
      throw new TypeError("reuseAddress must be a boolean");
    }
    conn = Deno.listenDatagram({ transport: "udp", hostname: host, port: p, reuseAddress });
  } else {
    if (hostname !== undefined || port !== undefined || reuseAddress !== undefined) {
      throw new TypeError(
        'hostname, port and reuseAddress are for transport "udp"; unixpacket uses path',
      );
    }
    if (path !== undefined && (typeof path !== "string" || path === "")) {
      throw new TypeError("path must be a non-empty string");
    }
    conn = Deno.listenDatagram({ transport: "unixpacket", path });
  }
  return new DatagramSocket(conn, { receiveBufferSize, checkSize });
}
