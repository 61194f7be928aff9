// Copyright 2025 the sockkit authors. MIT license.
/**
 * One direction of a TCP relay connection: reads from one socket, impairs, writes to the other.
 * Internal to `relay.ts`.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { Random } from "./relay_random.ts";

/** The impairments of one direction, checked (see `TcpImpairments` in relay.ts). */
export interface ResolvedTcpImpairments {
  slice?: readonly [number, number];
  coalesce?: number;
  coalesceMs?: number;
  latency: number;
  jitter: number;
  bandwidth?: number;
  closeAfter?: number;
  resetAfter?: number;
  timeout?: number;
  slowClose: number;
}

/** Counters of one direction, summed over the relay's connections. */
export interface TcpDirectionStats {
  /** Bytes read from the sender. */
  bytesIn: number;
  /** Bytes written to the receiver. */
  bytesOut: number;
  /** Reads from the sender (chunks as the OS handed them over). */
  reads: number;
  /** Writes to the receiver (pieces, after slicing and coalescing). */
  writes: number;
  /** The smallest write, in bytes (0 before the first). */
  smallestWrite: number;
  /** The largest write, in bytes. */
  largestWrite: number;
  /** Bytes read and thrown away (after a close/reset limit, or while `timeout` holds data). */
  dropped: number;
}

/** What a direction tells its connection. */
export interface DirectionEvents {
  /** The limit was reached after exactly `at` bytes: close or reset the whole connection. */
  limit(kind: "close-after" | "reset-after", at: number): void;
  /** The direction's writer failed (the receiver went away). */
  failed(error: unknown): void;
  /** A write of `bytes` bytes went to the receiver (only when the relay records writes). */
  wrote?(bytes: number): void;
}

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** How long a slice piece still short of its size waits for more bytes. */
const SLICE_WAIT_MS = 20;

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads `src`, impairs, writes `dst`; ends `dst` (after `slowClose`) when `src` ends. */
export class RelayDirection {
  #src: Socket;
  #dst: Socket;
  #imp: ResolvedTcpImpairments;
  #sliceRandom: Random;
  #delayRandom: Random;
  #stats: TcpDirectionStats;
  #events: DirectionEvents;
  #queue: { bytes: Uint8Array; arrival: number }[] = [];
  #queued = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingTimer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  #ended = false;
  #stopped = false;
  #passed = 0;
  #sliceLeft = 0;
  #sliceRest: Uint8Array = new Uint8Array(0);
  #sliceTimer: ReturnType<typeof setTimeout> | undefined;
  #lastDue = 0;
  #bandwidthFree = 0;
  /** Settles when the writer is done (ended, stopped or failed). */
  readonly done: Promise<void>;

  constructor(
    src: Socket,
    dst: Socket,
    imp: ResolvedTcpImpairments,
    randoms: [Random, Random],
    stats: TcpDirectionStats,
    events: DirectionEvents,
  ) {
    this.#src = src;
    this.#dst = dst;
    this.#imp = imp;
    [this.#sliceRandom, this.#delayRandom] = randoms;
    this.#stats = stats;
    this.#events = events;
    this.#sliceLeft = this.#nextSlice();
    src.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    src.on("end", () => {
      this.#flushPending();
      this.#flushSlice();
      this.#ended = true;
      this.#wake?.();
    });
    this.done = this.#writeLoop();
  }

  /** Stops passing data: everything read from now on is dropped, and the writer ends. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#pendingTimer);
    clearTimeout(this.#sliceTimer);
    this.#queue.length = 0;
    this.#wake?.();
  }

  #nextSlice(): number {
    const slice = this.#imp.slice;
    if (!slice) return Infinity;
    const [min, max] = slice;
    return min + Math.floor(this.#sliceRandom() * (max - min + 1));
  }

  #onData(chunk: Uint8Array): void {
    this.#stats.reads++;
    this.#stats.bytesIn += chunk.length;
    if (this.#stopped || this.#imp.timeout !== undefined) {
      this.#stats.dropped += chunk.length;
      return;
    }
    if (this.#imp.coalesce === undefined && this.#imp.coalesceMs === undefined) {
      this.#slice(chunk);
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= (this.#imp.coalesce ?? Infinity)) this.#flushPending();
    else if (this.#pendingTimer === undefined) {
      this.#pendingTimer = setTimeout(() => this.#flushPending(), this.#imp.coalesceMs ?? 20);
    }
  }

  #flushPending(): void {
    clearTimeout(this.#pendingTimer);
    this.#pendingTimer = undefined;
    if (this.#pendingBytes === 0) return;
    const joined = new Uint8Array(this.#pendingBytes);
    let at = 0;
    for (const part of this.#pending) {
      joined.set(part, at);
      at += part.length;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#slice(joined);
  }

  /**
   * Cuts the stream at offsets drawn from the seed alone, whatever the chunks the OS handed over:
   * a piece still short waits for more bytes, up to SLICE_WAIT_MS after the writer has caught
   * up, then goes out as it is.
   */
  #slice(bytes: Uint8Array): void {
    if (!this.#imp.slice) {
      this.#enqueue(bytes);
      return;
    }
    let buffer = bytes;
    if (this.#sliceRest.length > 0) {
      buffer = new Uint8Array(this.#sliceRest.length + bytes.length);
      buffer.set(this.#sliceRest);
      buffer.set(bytes, this.#sliceRest.length);
    }
    let offset = 0;
    while (buffer.length - offset >= this.#sliceLeft) {
      this.#enqueue(buffer.subarray(offset, offset + this.#sliceLeft));
      offset += this.#sliceLeft;
      this.#sliceLeft = this.#nextSlice();
    }
    this.#sliceRest = buffer.subarray(offset);
    clearTimeout(this.#sliceTimer); // the wait counts from the last bytes that came
    this.#sliceTimer = this.#sliceRest.length > 0
      ? setTimeout(() => this.#sliceWaited(), SLICE_WAIT_MS)
      : undefined;
  }

  /** A short piece waited: send it, unless earlier pieces still wait (then it costs nothing to wait on). */
  #sliceWaited(): void {
    this.#sliceTimer = undefined;
    if (this.#queue.length > 0 && !this.#stopped) {
      this.#sliceTimer = setTimeout(() => this.#sliceWaited(), SLICE_WAIT_MS);
    } else this.#flushSlice();
  }

  #flushSlice(): void {
    clearTimeout(this.#sliceTimer);
    this.#sliceTimer = undefined;
    if (this.#sliceRest.length === 0) return;
    this.#sliceLeft -= this.#sliceRest.length;
    this.#enqueue(this.#sliceRest);
    this.#sliceRest = new Uint8Array(0);
  }

  #enqueue(bytes: Uint8Array): void {
    this.#queue.push({ bytes, arrival: performance.now() });
    this.#queued += bytes.length;
    if (this.#queued > HIGH_WATER) this.#src.pause();
    this.#wake?.();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (!this.#stopped) {
        const item = this.#queue.shift();
        if (item === undefined) {
          if (this.#ended) break;
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
          continue;
        }
        this.#queued -= item.bytes.length;
        if (this.#queued < LOW_WATER && this.#src.isPaused()) this.#src.resume();
        await this.#writeItem(item.bytes, item.arrival);
      }
      if (this.#stopped) return;
      await sleep(this.#imp.slowClose);
      if (!this.#dst.destroyed) this.#dst.end();
    } catch (error) {
      this.#events.failed(error);
    }
  }

  async #writeItem(bytes: Uint8Array, arrival: number): Promise<void> {
    const imp = this.#imp;
    const limit = imp.resetAfter ?? imp.closeAfter;
    const length = limit === undefined
      ? bytes.length
      : Math.min(bytes.length, limit - this.#passed);
    await this.#wait(arrival, length);
    if (this.#stopped) return;
    if (length > 0) await this.#write(bytes.subarray(0, length));
    this.#passed += length;
    if (limit !== undefined && this.#passed >= limit) {
      this.#stats.dropped += bytes.length - length;
      this.#events.limit(imp.resetAfter !== undefined ? "reset-after" : "close-after", limit);
      this.stop();
    }
  }

  /** Waits for the piece's latency (order kept) and for the bandwidth limit. */
  async #wait(arrival: number, length: number): Promise<void> {
    const imp = this.#imp;
    if (imp.latency > 0 || imp.jitter > 0) {
      const r = this.#delayRandom();
      const delay = Math.max(0, imp.latency + imp.jitter * (2 * r - 1));
      // Sliced pieces are also spread apart by up to `jitter`, so the receiver reads them apart.
      const gap = imp.slice ? imp.jitter * r : 0;
      this.#lastDue = Math.max(this.#lastDue + gap, arrival + delay);
      await sleep(this.#lastDue - performance.now());
    }
    if (imp.bandwidth !== undefined) {
      const now = performance.now();
      await sleep(this.#bandwidthFree - now);
      // KB/s = bytes per ms.
      this.#bandwidthFree = Math.max(now, this.#bandwidthFree) + length / imp.bandwidth;
    }
  }

  #write(piece: Uint8Array): Promise<void> {
    const stats = this.#stats;
    stats.writes++;
    stats.bytesOut += piece.length;
    stats.smallestWrite = stats.smallestWrite === 0
      ? piece.length
      : Math.min(stats.smallestWrite, piece.length);
    stats.largestWrite = Math.max(stats.largestWrite, piece.length);
    this.#events.wrote?.(piece.length);
    return new Promise((resolve, reject) => {
      this.#dst.write(piece, (error) => error ? reject(error) : resolve());
    });
  }
}
