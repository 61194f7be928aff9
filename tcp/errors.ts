/**
 * Errors of framed connections: deadlines that expired, and a way to tell every kind of
 * connection failure apart (timeout, reset, refused, broken pipe, truncated frame, …).
 *
 * @module
 */

import { CorruptFrameError, FrameTooLargeError, TruncatedFrameError } from "../framing/errors.ts";

/** Which deadline expired: see {@linkcode TimeoutError}. */
export type TimeoutKind = "connect" | "idle" | "frame" | "write" | "handshake";

const WHAT: Record<TimeoutKind, string> = {
  connect: "connecting",
  idle: "connection idle: no data received",
  frame: "frame incomplete",
  write: "peer not reading: a write made no progress",
  handshake: "handshake not finished",
};

/**
 * A deadline expired; the connection was closed (Deno has no socket timeouts, so sockkit races
 * each operation with a timer and closes the connection when the timer wins — the tutorial's
 * `settimeout`).
 *
 * - `"connect"`: the connection was not established within `connectTimeout`.
 * - `"idle"`: no byte arrived within `idleTimeout` while waiting for a frame.
 * - `"frame"`: a frame started arriving but was not complete within `frameTimeout` (a slowloris
 *   peer that sends a header and then stalls).
 * - `"write"`: the peer took no bytes for `writeTimeout` while a send or flush waited (a peer
 *   that asks for data and never reads).
 * - `"handshake"`: a server's connection did not finish its TLS handshake and its `handshake`
 *   step (e.g. authentication) within `handshakeTimeout` of being accepted.
 *
 * The DOMException named `"TimeoutError"` that `AbortSignal.timeout()` gives is the same
 * condition from the web platform: {@linkcode connectionErrorKind} calls both `"timeout"`.
 *
 * @example Telling the kind apart
 * ```ts
 * import { TimeoutError } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const error = new TimeoutError("idle", 5000);
 * assert.equal(error.kind, "idle");
 * assert.equal(error.timeout, 5000);
 * assert.match(error.message, /idle/);
 * ```
 */
export class TimeoutError extends Error {
  /** Which deadline expired. */
  readonly kind: TimeoutKind;
  /** The deadline, in milliseconds. */
  readonly timeout: number;

  /**
   * Makes the error.
   *
   * @param kind Which deadline expired.
   * @param timeout The deadline in milliseconds.
   * @param options The cause.
   */
  constructor(kind: TimeoutKind, timeout: number, options?: ErrorOptions) {
    super(
      `${WHAT[kind] ?? kind} for ${timeout} ms (${kind} timeout); the connection was closed`,
      options,
    );
    this.name = "TimeoutError";
    this.kind = kind;
    this.timeout = timeout;
  }
}

/**
 * What went wrong with a connection, as told by {@linkcode connectionErrorKind}:
 * - `"timeout"`: a deadline expired: a {@linkcode TimeoutError} (its `kind` says which), or a
 *   `DOMException` named `TimeoutError` (from `AbortSignal.timeout()`).
 * - `"refused"`: nothing listens there (`Deno.errors.ConnectionRefused`; Python's
 *   `ConnectionRefusedError`, `connect_ex` → `ECONNREFUSED`).
 * - `"reset"`: the peer reset the connection (`Deno.errors.ConnectionReset`,
 *   `ConnectionAborted`).
 * - `"broken-pipe"`: writing to a connection the peer has closed (`Deno.errors.BrokenPipe`).
 * - `"truncated"`: the peer closed in the middle of a frame (`TruncatedFrameError`).
 * - `"too-large"`: a frame declared over the limit (`FrameTooLargeError`).
 * - `"corrupt"`: bytes that cannot be a frame (`CorruptFrameError`).
 * - `"closed"`: the connection was already closed here (`Deno.errors.BadResource`,
 *   `Deno.errors.Interrupted`).
 * - `"aborted"`: an `AbortSignal` fired (a `DOMException` named `AbortError`).
 * - `"not-found"`: a unix socket path that does not exist (`Deno.errors.NotFound`).
 * - `"unknown"`: anything else.
 */
export type ConnectionErrorKind =
  | "timeout"
  | "refused"
  | "reset"
  | "broken-pipe"
  | "truncated"
  | "too-large"
  | "corrupt"
  | "closed"
  | "aborted"
  | "not-found"
  | "unknown";

/**
 * Tells connection failures apart. The classes themselves are what to catch
 * (`error instanceof Deno.errors.ConnectionReset`, `error instanceof TimeoutError`, …); this
 * function names them in one place, for logs and `switch` statements.
 *
 * @param error What was thrown.
 * @returns The kind of failure.
 *
 * @example Naming Deno's and sockkit's errors
 * ```ts
 * import { connectionErrorKind, TimeoutError } from "@sockkit/sockkit/tcp";
 * import { TruncatedFrameError } from "@sockkit/sockkit/framing";
 * import assert from "node:assert/strict";
 *
 * assert.equal(connectionErrorKind(new Deno.errors.ConnectionRefused("x")), "refused");
 * assert.equal(connectionErrorKind(new Deno.errors.ConnectionReset("x")), "reset");
 * assert.equal(connectionErrorKind(new Deno.errors.BrokenPipe("x")), "broken-pipe");
 * assert.equal(connectionErrorKind(new TimeoutError("frame", 10)), "timeout");
 * assert.equal(connectionErrorKind(new DOMException("late", "TimeoutError")), "timeout");
 * assert.equal(connectionErrorKind(new TruncatedFrameError(8, 3, "body")), "truncated");
 * assert.equal(connectionErrorKind(new Error("?")), "unknown");
 * ```
 */
export function connectionErrorKind(error: unknown): ConnectionErrorKind {
  if (error instanceof TimeoutError) return "timeout";
  if (error instanceof TruncatedFrameError) return "truncated";
  if (error instanceof FrameTooLargeError) return "too-large";
  if (error instanceof CorruptFrameError) return "corrupt";
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  if (
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.ConnectionAborted
  ) {
    return "reset";
  }
  if (error instanceof Deno.errors.BrokenPipe) return "broken-pipe";
  if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
    return "closed";
  }
  if (error instanceof Deno.errors.NotFound) return "not-found";
  if (error instanceof DOMException) {
    if (error.name === "TimeoutError") return "timeout";
    if (error.name === "AbortError") return "aborted";
  }
  return "unknown";
}

/**
 * Whether an error means the connection is gone: closed here, reset by the peer, or a broken
 * pipe. Timeouts and framing errors are not disconnects (they are reasons to disconnect).
 *
 * @param error What was thrown.
 * @returns `true` for `"reset"`, `"broken-pipe"` and `"closed"`.
 *
 * @example Ignoring a peer that went away
 * ```ts
 * import { isDisconnect, TimeoutError } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isDisconnect(new Deno.errors.BrokenPipe("gone")), true);
 * assert.equal(isDisconnect(new Deno.errors.ConnectionReset("gone")), true);
 * assert.equal(isDisconnect(new TimeoutError("idle", 1000)), false);
 * ```
 */
export function isDisconnect(error: unknown): boolean {
  const kind = connectionErrorKind(error);
  return kind === "reset" || kind === "broken-pipe" || kind === "closed";
}
