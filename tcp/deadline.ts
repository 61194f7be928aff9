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
