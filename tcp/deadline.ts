/**
 * Deadlines for socket operations. Deno sockets have no timeouts, so an operation is raced with
 * a timer; when the timer wins, `expire` runs (it closes the connection, which ends the
 * operation).
 *
 * @module
 */

/**
 * One deadline at a time, on one timer that is re-armed lazily: arming again for a later time
 * (every read of a busy connection does) costs no timer call, since the pending timer, when it
 * fires early, only re-schedules itself for the current deadline.
 */
export class Deadline {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #at = Infinity;
  #expire: () => void;

  /**
   * @param expire Called when an armed deadline passes.
   */
  constructor(expire: () => void) {
    this.#expire = expire;
  }

  /**
   * Arms the deadline `ms` from now (`Infinity`: none).
   *
   * @param ms Milliseconds.
   */
  arm(ms: number): void {
    if (ms === Infinity) return;
    const at = performance.now() + ms;
    this.#at = at;
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#schedule(at);
  }

  /** Disarms it (the timer, if pending, stops when it fires). */
  disarm(): void {
    this.#at = Infinity;
  }

  /** Disarms it and cancels the timer (when the connection closes). */
  stop(): void {
    this.#at = Infinity;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(at: number): void {
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fire, Math.max(0, at - performance.now()));
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#at === Infinity) return;
    if (performance.now() >= this.#at - 1) {
      this.#at = Infinity;
      this.#expire();
    } else {
      this.#schedule(this.#at);
    }
  };
}
