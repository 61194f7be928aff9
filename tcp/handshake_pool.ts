/**
 * The pool of connections that have not yet proven themselves: a deadline from accept, and a
 * fixed number of slots where the oldest is dropped to admit a newcomer.
 *
 * @module
 */

import type { FramedConn } from "./framed_conn.ts";
import { TimeoutError } from "./errors.ts";

interface Entry {
  conn: FramedConn;
  started: number;
  drop: (error: unknown) => void;
}

/**
 * Runs handshake steps under a deadline, at most `max` at once. When a step starts while the
 * pool is full, the oldest running one is dropped (its connection aborted): an attacker who opens
 * sockets and never proves anything only pushes earlier such sockets out, and a real client
 * finishes its handshake within its slot's lifetime, which is at least the time it takes `max`
 * newer connections to arrive.
 */
export class HandshakePool {
  #max: number;
  #timeout: number;
  #entries = new Set<Entry>();

  /**
   * Makes the pool.
   *
   * @param max The number of slots.
   * @param timeout Milliseconds a step may take (`Infinity`: no limit).
   */
  constructor(max: number, timeout: number) {
    this.#max = max;
    this.#timeout = timeout;
  }

  /** How many steps run now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `step` for `conn` in a slot. On the deadline, or when evicted, the connection is aborted
   * with a {@linkcode TimeoutError} of kind `"handshake"` and this rejects with it at once (the
   * step is not waited for).
   *
   * @param conn The connection in its handshake.
   * @param step The handshake.
   * @returns What the step returned.
   */
  async run<T>(conn: FramedConn, step: () => Promise<T>): Promise<T> {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.values().next().value!;
      const cause = new Error(
        `the handshake pool (${this.#max} slots) was full: the oldest handshake was dropped to admit a new connection`,
      );
      oldest.drop(
        new TimeoutError("handshake", Math.round(performance.now() - oldest.started), { cause }),
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let entry: Entry | undefined;
    const dropped = new Promise<never>((_, reject) => {
      entry = {
        conn,
        started: performance.now(),
        drop: (error) => {
          this.#entries.delete(entry!);
          conn.abort(error);
          reject(error);
        },
      };
    });
    dropped.catch(() => {});
    this.#entries.add(entry!);
    if (this.#timeout !== Infinity) {
      timer = setTimeout(
        () => entry!.drop(new TimeoutError("handshake", this.#timeout)),
        this.#timeout,
      );
    }
    try {
      return await Promise.race([step(), dropped]);
    } finally {
      clearTimeout(timer);
      this.#entries.delete(entry!);
    }
  }

  /** Drops every connection still in its handshake (at shutdown). */
  dropAll(): void {
    for (const entry of [...this.#entries]) {
      entry.drop(new DOMException("the server is shutting down", "AbortError"));
    }
  }
}
