// Copyright 2025 the sockkit authors. MIT license.
/**
 * One direction of a UDP relay: decides, from its seeded stream, what happens to each datagram,
 * and sends what survives. Internal to `relay.ts`.
 *
 * @module
 */

import type { Random } from "../tcp/relay_random.ts";

/** The checked impairments of one direction (see `UdpImpairments` in relay.ts). */
export interface ResolvedUdpImpairments {
  loss: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  truncate?: number;
  delay: number;
  jitter: number;
  rate?: number;
}

/** Counters of one direction of a {@linkcode UdpRelay}. */
export interface UdpDirectionStats {
  /** Datagrams that reached the relay. */
  received: number;
  /** Datagrams the relay sent on (a duplicated one counts twice). */
  forwarded: number;
  /** Datagrams dropped: by `loss`, or by `rate` when more than a second's worth was queued. */
  lost: number;
  /** Datagrams sent twice. */
  duplicated: number;
  /** Datagrams held back and sent after the next one. */
  reordered: number;
  /** Datagrams with one bit flipped. */
  corrupted: number;
  /** Datagrams cut to `truncate` bytes. */
  truncated: number;
}

/** What the relay did to one datagram (datagrams passed untouched, apart from delay, are not logged). */
export interface UdpRelayLogEntry {
  /** `"up"` is client → server, `"down"` server → client. */
  direction: "up" | "down";
  /** The datagram's number in its direction, from 0 in the order the relay received them. */
  seq: number;
  /** Its size as received, in bytes. */
  size: number;
  /** Dropped, and why. */
  lost?: "loss" | "rate";
  /** Sent twice. */
  duplicated?: true;
  /** Held back and sent after the next datagram. */
  reordered?: true;
  /** The index of the bit flipped (bit 0 is the lowest bit of byte 0). */
  corrupted?: number;
  /** The length it was cut to. */
  truncated?: number;
}

/** Sends one datagram on; the relay knows to whom. */
export type Deliver = (data: Uint8Array) => Promise<unknown>;

const REORDER_HOLD_MS = 50;

/** Applies one direction's impairments, in the order netem does: loss, corruption, then timing. */
export class UdpDirection {
  #name: "up" | "down";
  #imp: ResolvedUdpImpairments;
  #random: Random;
  #stats: UdpDirectionStats;
  #log: UdpRelayLogEntry[];
  #logLimit: number;
  #held: { data: Uint8Array; deliver: Deliver; entry: UdpRelayLogEntry }[] = [];
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #chain: Promise<void> = Promise.resolve();
  #nextFree = 0;
  #closed = false;

  constructor(
    name: "up" | "down",
    imp: ResolvedUdpImpairments,
    random: Random,
    stats: UdpDirectionStats,
    log: UdpRelayLogEntry[],
    logLimit: number,
  ) {
    this.#name = name;
    this.#imp = imp;
    this.#random = random;
    this.#stats = stats;
    this.#log = log;
    this.#logLimit = logLimit;
  }

  /** Handles one received datagram. */
  handle(received: Uint8Array, deliver: Deliver): void {
    if (this.#closed) return;
    const imp = this.#imp, stats = this.#stats;
    const seq = stats.received++;
    // Always seven draws per datagram, so datagram n's fate depends only on the seed and n.
    const r = Array.from({ length: 7 }, this.#random);
    const entry: UdpRelayLogEntry = { direction: this.#name, seq, size: received.length };
    const logIt = () => {
      if (this.#log.length < this.#logLimit) this.#log.push(entry);
    };
    if (r[0] < imp.loss) {
      stats.lost++;
      entry.lost = "loss";
      logIt();
      return;
    }
    let data = received;
    if (imp.truncate !== undefined && data.length > imp.truncate) {
      data = data.slice(0, imp.truncate);
      stats.truncated++;
      entry.truncated = imp.truncate;
    }
    if (r[3] < imp.corrupt && data.length > 0) {
      const bit = Math.floor(r[4] * data.length * 8);
      data = data.slice();
      data[bit >> 3] ^= 1 << (bit & 7);
      stats.corrupted++;
      entry.corrupted = bit;
    }
    const duplicate = r[1] < imp.duplicate;
    if (duplicate) {
      stats.duplicated++;
      entry.duplicated = true;
    }
    const delay = (x: number) => Math.max(0, imp.delay + imp.jitter * (2 * x - 1));
    if (r[2] < imp.reorder) {
      // Held until the next datagram that is not held has gone; then sent, all held ones in order.
      // If none comes within REORDER_HOLD_MS they are sent anyway, and are not counted reordered.
      this.#held.push({ data, deliver, entry });
      this.#holdTimer ??= setTimeout(() => this.#release(false), REORDER_HOLD_MS);
      logIt();
      if (duplicate) this.#schedule(data, deliver, delay(r[6]), seq);
      return;
    }
    if (entry.truncated !== undefined || entry.corrupted !== undefined || duplicate) logIt();
    this.#schedule(data, deliver, delay(r[5]), seq);
    if (duplicate) this.#schedule(data, deliver, delay(r[6]), seq);
    if (this.#held.length > 0) this.#release(true, delay(r[5]));
  }

  #release(overtaken: boolean, after = 0): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    const held = this.#held;
    this.#held = [];
    for (const { data, deliver, entry } of held) {
      if (overtaken) {
        this.#stats.reordered++;
        entry.reordered = true;
      }
      this.#schedule(data, deliver, after, entry.seq);
    }
  }

  #schedule(data: Uint8Array, deliver: Deliver, delay: number, seq: number): void {
    let due = performance.now() + delay;
    const rate = this.#imp.rate;
    if (rate !== undefined) {
      due = Math.max(due, this.#nextFree);
      if (due - performance.now() > 1000) {
        this.#stats.lost++;
        if (this.#log.length < this.#logLimit) {
          this.#log.push({
            direction: this.#name,
            seq,
            size: data.length,
            lost: "rate",
          });
        }
        return;
      }
      this.#nextFree = due + 1000 / rate;
    }
    const send = () => {
      this.#chain = this.#chain.then(async () => {
        if (this.#closed) return;
        try {
          await deliver(data);
          this.#stats.forwarded++;
        } catch {
          // The receiver is gone or refused it: on UDP that is a loss nobody reports.
        }
      });
    };
    const wait = due - performance.now();
    if (wait < 0.5) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      send();
    }, wait);
    this.#timers.add(timer);
  }

  /** Drops whatever is still waiting and waits for sends in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#holdTimer);
    this.#held = [];
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#chain;
  }
}
