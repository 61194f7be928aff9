// Copyright 2025 the sockkit authors. MIT license.
/**
 * {@linkcode transmit}: send a batch of messages over UDP on loopback and report what the
 * receiver saw, so boundaries, empty datagrams, order and loss can be shown with numbers.
 *
 * @module
 */

import { DEFAULT_UDP_RECEIVE_BUFFER_SIZE, openDatagram } from "./datagram_socket.ts";
import type { Datagram } from "./datagram_socket.ts";

/**
 * How {@linkcode transmit} sends:
 * - `"paced"`: the receiver reads all along and each send waits until the previous datagram has
 *   arrived (or `idleTimeout` passed): nothing should be lost on loopback.
 * - `"burst"`: every datagram is sent back to back while nobody reads; the receiver drains its
 *   queue only afterwards. Whatever did not fit in the receiver's socket buffer (`SO_RCVBUF`,
 *   212,992 bytes by default on Linux, counted with per-datagram overhead) is dropped, and the
 *   sender is not told.
 */
export type TransmitMode = "paced" | "burst";

/** Settings for {@linkcode transmit}. */
export interface TransmitOptions {
  /**
   * The loopback address both sockets bind to: `"127.0.0.1"` or `"::1"`.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * `"paced"` or `"burst"`, see {@linkcode TransmitMode}.
   *
   * @default {"paced"}
   */
  mode?: TransmitMode;
  /**
   * Milliseconds without a new datagram after which the receiver stops waiting and counts the
   * rest as lost.
   *
   * @default {250}
   */
  idleTimeout?: number;
  /**
   * The receiving socket's buffer size (see `OpenDatagramOptions.receiveBufferSize`); make it
   * smaller than a message to watch truncation.
   *
   * @default {65_536}
   */
  receiveBufferSize?: number;
}

/** What {@linkcode transmit} saw. All counts are of datagrams unless named `bytes…`. */
export interface TransmitReport {
  /** How the messages were sent. */
  mode: TransmitMode;
  /** The address family used: `"ipv4"` or `"ipv6"`. */
  family: "ipv4" | "ipv6";
  /** Datagrams sent, each without an error from the OS. */
  sent: number;
  /** Datagrams the receiver got. */
  received: number;
  /** Received datagrams that equal a sent message byte for byte (counted once per message). */
  whole: number;
  /** Sent messages that never arrived whole: `sent − whole`. */
  lost: number;
  /** Received datagrams that repeat a message already received. */
  duplicates: number;
  /** Received datagrams that match no sent message (cut short, merged or split). */
  mismatched: number;
  /** Received datagrams flagged `truncated` (see `Datagram.truncated`). */
  truncated: number;
  /** Whether every received datagram was exactly one sent message: `mismatched === 0`. */
  boundariesKept: boolean;
  /** Whether the messages that arrived came in the order they were sent. */
  inOrder: boolean;
  /** Empty messages sent. */
  emptySent: number;
  /** Empty datagrams received. */
  emptyReceived: number;
  /** The size of the largest message sent, in bytes. */
  largestSent: number;
  /** The size of the largest datagram received, in bytes. */
  largestReceived: number;
  /** Bytes sent in all. */
  bytesSent: number;
  /** Bytes received in all. */
  bytesReceived: number;
  /** Wall-clock time from the first send to the end of receiving, in milliseconds. */
  elapsedMs: number;
}

function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Opens two UDP sockets on loopback, sends `messages` from one to the other, one datagram each
 * and in order, and reports what arrived: how many, whether each was whole, duplicates, order,
 * empty and largest datagrams, and how many were lost. The sockets are closed before it returns.
 *
 * Sending stops with the first error: a message over the family's limit rejects with
 * `DatagramTooLargeError` before anything else is reported.
 *
 * Requires `allow-net` permission.
 *
 * @example Paced: everything arrives whole
 * ```ts
 * import { transmit } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * const messages = [3, 0, 65_507].map((size) => new Uint8Array(size).fill(1));
 * const report = await transmit(messages, { idleTimeout: 500 });
 * assert.equal(report.received, 3);
 * assert.equal(report.lost, 0);
 * assert.equal(report.boundariesKept, true);
 * assert.equal(report.emptyReceived, 1);
 * assert.equal(report.largestReceived, 65_507);
 * ```
 *
 * @example Burst: the receiver's queue overflows without telling the sender
 * ```ts
 * import { transmit } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * const messages = Array.from({ length: 1_000 }, (_, i) => new Uint8Array(4_096).fill(i));
 * const report = await transmit(messages, { mode: "burst", idleTimeout: 100 });
 * assert.equal(report.sent, 1_000); // no send failed
 * assert.ok(report.received <= report.sent);
 * assert.equal(report.lost, report.sent - report.whole);
 * ```
 *
 * @tags allow-net
 * @param messages The messages, one datagram each.
 * @param options Where and how to send.
 * @returns What the receiver saw.
 */
export async function transmit(
  messages: Iterable<Uint8Array>,
  options: TransmitOptions = {},
): Promise<TransmitReport> {
  const {
    hostname = "127.0.0.1",
    mode = "paced",
    idleTimeout = 250,
    receiveBufferSize = DEFAULT_UDP_RECEIVE_BUFFER_SIZE,
  } = options ?? {};
  if (mode !== "paced" && mode !== "burst") {
    throw new TypeError(`mode must be "paced" or "burst", got ${String(mode)}`);
  }
  if (typeof idleTimeout !== "number" || !Number.isFinite(idleTimeout) || idleTimeout <= 0) {
    throw new RangeError(`idleTimeout must be a finite number > 0, got ${String(idleTimeout)}`);
  }
  const list = [...messages];
  for (const m of list) {
    if (!(m instanceof Uint8Array)) throw new TypeError("every message must be a Uint8Array");
  }

  await using rx = openDatagram({ hostname, port: 0, receiveBufferSize });
  await using tx = openDatagram({ hostname, port: 0 });
  const to = rx.addr as Deno.NetAddr;
  const family = rx.family === "ipv6" ? "ipv6" : "ipv4";

  const arrivals: Datagram[] = [];
  let sendingDone = false;
  let receiverEnded = false;
  let wake: (() => void) | undefined;

  const receive = async (): Promise<void> => {
    try {
      while (true) {
        let datagram: Datagram;
        try {
          datagram = await rx.receive({ timeout: idleTimeout });
        } catch (err) {
          if (err instanceof Deno.errors.TimedOut) {
            if (sendingDone) return;
            continue;
          }
          if (rx.closed) return;
          throw err;
        }
        arrivals.push(datagram);
        wake?.();
      }
    } finally {
      receiverEnded = true;
      wake?.();
    }
  };

  const waitForArrivals = async (count: number): Promise<void> => {
    if (arrivals.length >= count || receiverEnded) return;
    let id: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      id = setTimeout(resolve, idleTimeout);
      wake = () => {
        if (arrivals.length >= count || receiverEnded) resolve();
      };
    });
    clearTimeout(id);
    wake = undefined;
  };

  const started = performance.now();
  let sent = 0;
  // Paced: the receiver reads all along. Burst: nobody reads until every datagram is out, so
  // only what fits in the receiver's SO_RCVBUF survives.
  let receiving = mode === "paced" ? receive() : undefined;
  try {
    for (const message of list) {
      await tx.send(message, to);
      sent++;
      if (mode === "paced") await waitForArrivals(sent);
    }
  } finally {
    sendingDone = true;
    if (mode === "paced" && arrivals.length >= sent) rx.close();
    receiving ??= receive();
    receiving.catch(() => {}); // still awaited below; this only covers a failed send
  }
  await receiving;
  const elapsedMs = performance.now() - started;

  return {
    mode,
    family,
    sent,
    ...match(list.slice(0, sent), arrivals),
    elapsedMs,
  };
}

function match(
  sentList: Uint8Array[],
  arrivals: Datagram[],
): Omit<TransmitReport, "mode" | "family" | "sent" | "elapsedMs"> {
  const byKey = new Map<string, number[]>();
  sentList.forEach((m, i) => {
    const key = `${m.length}:${fnv1a(m)}`;
    const list = byKey.get(key);
    if (list) list.push(i);
    else byKey.set(key, [i]);
  });
  const matched = new Uint8Array(sentList.length);
  let whole = 0, duplicates = 0, mismatched = 0, truncated = 0;
  let inOrder = true, lastIndex = -1;
  let emptyReceived = 0, largestReceived = 0, bytesReceived = 0;
  for (const { data, truncated: cut } of arrivals) {
    if (cut) truncated++;
    if (data.length === 0) emptyReceived++;
    largestReceived = Math.max(largestReceived, data.length);
    bytesReceived += data.length;
    const candidates = (byKey.get(`${data.length}:${fnv1a(data)}`) ?? [])
      .filter((i) => equalBytes(sentList[i], data));
    const index = candidates.find((i) => matched[i] === 0);
    if (index !== undefined) {
      matched[index] = 1;
      whole++;
      if (index < lastIndex) inOrder = false;
      lastIndex = index;
    } else if (candidates.length > 0) {
      duplicates++;
    } else {
      mismatched++;
    }
  }
  return {
    received: arrivals.length,
    whole,
    lost: sentList.length - whole,
    duplicates,
    mismatched,
    truncated,
    boundariesKept: mismatched === 0,
    inOrder,
    emptySent: sentList.filter((m) => m.length === 0).length,
    emptyReceived,
    largestSent: sentList.reduce((max, m) => Math.max(max, m.length), 0),
    largestReceived,
    bytesSent: sentList.reduce((sum, m) => sum + m.length, 0),
    bytesReceived,
  };
}
