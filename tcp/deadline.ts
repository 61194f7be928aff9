/**
 * Deadlines for socket operations. Deno sockets have no timeouts, so an operation is raced with
 * a timer; when the timer wins, `expire` runs (it closes the connection, which ends the operation).
 *
 * @module
 */

/**
 * Waits for `op`; if it has not settled within `ms`, calls `expire` once (the operation is
 * expected to settle soon after, since `expire` closes what it waits on).
 *
 * @param op The operation.
 * @param ms The deadline in milliseconds (`Infinity`: none).
 * @param expire Called when the deadline passes first.
 * @returns What `op` settles to.
 */
export function withDeadline<T>(op: Promise<T>, ms: number, expire: () => void): Promise<T> {
  if (ms === Infinity) return op;
  const timer = setTimeout(expire, ms);
  return op.finally(() => clearTimeout(timer));
}

/**
 * A deadline for operations that run one after another (the reads of a connection, or its
 * writes), with one timer between them: it is armed for the running operation's due time and
 * left armed when the operation ends early, so the next one reuses it; when it fires early it
 * re-arms for what is left. A busy connection thus pays for a timer about once per deadline
 * period instead of once per read or write. {@linkcode Deadline.prototype.clear} stops it when
 * the connection ends; until then a timer left armed fires once more at most, then stays off.
 */
export class Deadline {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #due = Infinity;
  #expire: (() => void) | undefined;

  /**
   * Waits for `op`; if it has not settled within `ms`, calls `expire` once.
   *
   * @param op The operation (the previous one has settled).
   * @param ms The deadline in milliseconds (`Infinity`: none).
   * @param expire Called when the deadline passes first.
   * @returns What `op` settles to.
   */
  race<T>(op: Promise<T>, ms: number, expire: () => void): Promise<T> {
    if (ms === Infinity) return op;
    const due = performance.now() + ms;
    this.#due = due;
    this.#expire = expire;
    if (this.#timer === undefined || this.#timerDue > due) this.#arm(due, ms);
    return op.finally(this.#settled);
  }

  /** Stops the timer: no operation will run any more. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = Infinity;
    this.#expire = undefined;
  }

  #settled = (): void => {
    this.#due = Infinity;
  };

  #arm(due: number, ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(this.#fire, ms);
  }

  #fire = (): void => {
    this.#timer = undefined;
    if (this.#due === Infinity) return; // nothing running: the next operation arms it again
    const left = this.#due - performance.now();
    if (left > 0) {
      this.#arm(this.#due, left);
      return;
    }
    const expire = this.#expire!;
    this.#due = Infinity;
    expire();
  };
}
