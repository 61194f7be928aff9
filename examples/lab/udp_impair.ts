// Copyright 2025 the sockkit authors. MIT license.
/**
 * A minimal seeded UDP impairment relay for the lab, shaped like the project's relay contract
 * (`startUdpRelay` with `loss`, `duplicate`, `reorder`, `delay`, `jitter`, `seed`; `addr`,
 * `stats`, `log`, `close()`), impairing the client-to-target direction only. The same seed and
 * the same datagrams in the same order give the same decisions: per datagram it draws four
 * numbers (loss, duplicate, reorder, jitter) in arrival order, whatever they are used for.
 *
 * @module
 */
import { openDatagram } from "../../udp/mod.ts";
import { Random } from "./boxes.ts";

/** Settings of {@linkcode startUdpRelay}. */
export interface UdpRelayOptions {
  /** Where datagrams go. */
  target: { hostname?: string; port: number };
  /** Where the relay listens. @default {"127.0.0.1"} */
  hostname?: string;
  /** @default {0} */
  port?: number;
  /** @default {1} */
  seed?: number;
  /** Probability a datagram is dropped. @default {0} */
  loss?: number;
  /** Probability a datagram is sent twice. @default {0} */
  duplicate?: number;
  /** Probability a datagram is held back and sent after the next one. @default {0} */
  reorder?: number;
  /** Milliseconds every datagram waits. @default {0} */
  delay?: number;
  /** Up to this many milliseconds more, drawn per datagram. @default {0} */
  jitter?: number;
}

/** What the relay did in one direction. */
export interface UdpRelayDirectionStats {
  received: number;
  forwarded: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  truncated: number;
}

/** One decision of the relay. */
export interface UdpRelayLogEntry {
  /** The datagram's number in arrival order, from 0. */
  n: number;
  /** Its size. */
  size: number;
  /** What happened to it. */
  action: "forwarded" | "lost" | "duplicated" | "reordered";
}

/** A running relay. */
export interface UdpRelay extends AsyncDisposable {
  /** Where to send datagrams. */
  readonly addr: Deno.NetAddr;
  /** What it did (`down` stays at 0: only client-to-target traffic is impaired). */
  readonly stats: { up: UdpRelayDirectionStats; down: UdpRelayDirectionStats };
  /** Every decision, in arrival order. */
  readonly log: UdpRelayLogEntry[];
  /** Stops it, after sending what it holds back. */
  close(): Promise<void>;
}

const zero = (): UdpRelayDirectionStats => ({
  received: 0,
  forwarded: 0,
  lost: 0,
  duplicated: 0,
  reordered: 0,
  corrupted: 0,
  truncated: 0,
});

/**
 * Starts the relay on loopback.
 *
 * Requires `allow-net` permission.
 */
export function startUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  const socket = openDatagram({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
  });
  const target = { hostname: options.target.hostname ?? "127.0.0.1", port: options.target.port };
  const random = new Random(options.seed ?? 1);
  const up = zero();
  const log: UdpRelayLogEntry[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let held: { data: Uint8Array; timer: ReturnType<typeof setTimeout> } | undefined;
  let closed = false;

  const send = (data: Uint8Array, at: number): void => {
    const go = () => {
      up.forwarded++;
      socket.send(data, target).catch(() => {}); // the target may be gone at the end
    };
    if (at <= 0) return go();
    const timer = setTimeout(() => {
      timers.delete(timer);
      go();
    }, at);
    timers.add(timer);
  };
  const releaseHeld = (at: number): void => {
    if (!held) return;
    clearTimeout(held.timer);
    const data = held.data;
    held = undefined;
    send(data, at);
  };

  const loop = (async () => {
    for await (const { data } of socket) {
      const n = up.received++;
      const [lossDraw, dupDraw, reorderDraw, jitterDraw] = [
        random.next(),
        random.next(),
        random.next(),
        random.next(),
      ];
      const wait = (options.delay ?? 0) + Math.floor(jitterDraw * (options.jitter ?? 0));
      if (lossDraw < (options.loss ?? 0)) {
        up.lost++;
        log.push({ n, size: data.length, action: "lost" });
        continue;
      }
      if (!held && reorderDraw < (options.reorder ?? 0)) {
        up.reordered++;
        log.push({ n, size: data.length, action: "reordered" });
        // sent after the next one, or alone if none comes soon
        held = { data, timer: setTimeout(() => releaseHeld(0), 250) };
        continue;
      }
      const copies = dupDraw < (options.duplicate ?? 0) ? 2 : 1;
      if (copies === 2) up.duplicated++;
      log.push({ n, size: data.length, action: copies === 2 ? "duplicated" : "forwarded" });
      for (let c = 0; c < copies; c++) send(data, wait);
      releaseHeld(wait);
    }
  })().catch(() => {});

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    releaseHeld(0);
    for (const timer of timers) clearTimeout(timer);
    socket.close();
    await loop;
  };
  return Promise.resolve({
    addr: socket.addr as Deno.NetAddr,
    stats: { up, down: zero() },
    log,
    close,
    [Symbol.asyncDispose]: close,
  });
}
