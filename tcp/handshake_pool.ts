/**
 * The pool of connections that have not yet proven themselves: a deadline from accept, and a
 * fixed number of slots where the one that has sent least (the oldest of those) is dropped to
 * admit a newcomer.
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
 * pool is full, one running step is dropped (its connection aborted): the one whose peer has sent
 * the fewest bytes, the oldest of those. An attacker who opens sockets and sends nothing only
 * pushes out earlier silent sockets; a real client that has sent its first bytes stays until its
 * handshake ends or its deadline passes. (An attacker who also sends bytes competes on how much
 * it sends, and still cannot hold a slot past `handshakeTimeout`.)
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
      const victim = this.#victim();
      const cause = new Error(
        `the handshake pool (${this.#max} slots) was full: the handshake that had sent the least was dropped to admit a new connection`,
      );
      victim.drop(
        new TimeoutError("handshake", Math.round(performance.now() - victim.started), { cause }),
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

  /**
   * The connection to drop for a newcomer: the one whose peer has sent the fewest bytes, the
   * oldest of those. A socket that connects and stays silent is dropped before a client that has
   * started its handshake, however fast new silent sockets arrive.
   */
  #victim(): Entry {
    let victim: Entry | undefined;
    for (const entry of this.#entries) {
      if (victim === undefined || entry.conn.receivedBytes < victim.conn.receivedBytes) {
        victim = entry;
        if (victim.conn.receivedBytes === 0) break;
      }
    }
    return victim!;
  }

  /** Drops every connection still in its handshake (at shutdown). */
  dropAll(): void {
    for (const entry of [...this.#entries]) {
      entry.drop(new DOMException("the server is shutting down", "AbortError"));
    }
  }
}
