/**
 * Checks shared by sending and receiving, and the `signal` option wired to the connection.
 *
 * @module
 */

import { FramedConn } from "../framed_conn.ts";
import { FileTransferError } from "./error.ts";
import type { FileTransferOptions } from "./wire.ts";

/** Checks that `conn` is a framed connection with the default frame layout (`u32be`). */
export function checkConn(conn: unknown): asserts conn is FramedConn {
  if (!(conn instanceof FramedConn)) {
    throw new TypeError("conn must be a FramedConn (from connectFramed or listenFramed)");
  }
  const format = conn.format;
  if (
    format.lengthFormat !== "u32be" || format.lengthOffset !== 0 ||
    format.lengthAdjustment !== 0 || format.lengthIncludesHeader
  ) {
    throw new TypeError("file transfer needs a FramedConn with the default u32be frame layout");
  }
}

/** Checks the options every transfer has. */
export function checkCommon(options: FileTransferOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  const wire = options.wire ?? "sockkit";
  if (wire !== "sockkit" && wire !== "seed") {
    throw new TypeError(`wire must be "sockkit" or "seed", got ${JSON.stringify(wire)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  const worker = options.hashWorker;
  if (worker !== undefined && worker !== "auto" && typeof worker !== "boolean") {
    throw new TypeError(`hashWorker must be "auto", true or false, got ${JSON.stringify(worker)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new TypeError("onProgress must be a function");
  }
}

/** Aborts `conn` when `signal` fires, until disposed. */
export function watchSignal(conn: FramedConn, signal: AbortSignal | undefined): Disposable {
  const onAbort = () => conn.abort(new FileTransferError("aborted", "the transfer was aborted"));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return { [Symbol.dispose]: () => signal?.removeEventListener("abort", onAbort) };
}
