/**
 * Control messages of the sockkit wire (offer, accept, refuse, end, ack, error, done): one JSON
 * object per frame of the {@linkcode FramedConn}, and the mapping of whatever a transfer throws
 * to a {@linkcode FileTransferError}.
 *
 * @module
 */

import {
  CorruptFrameError,
  FrameTooLargeError,
  TruncatedFrameError,
} from "../../framing/errors.ts";
import type { FramedConn } from "../framed_conn.ts";
import { TimeoutError } from "../errors.ts";
import {
  FILE_TRANSFER_ERROR_CODES,
  FileTransferError,
  type FileTransferErrorCode,
} from "./error.ts";
import { escapeFileName } from "./safe_name.ts";
import { MAX_CONTROL_FRAME } from "./wire.ts";

/** One control message. */
export type Control = Record<string, unknown>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends one control message as one frame. */
export function sendControl(conn: FramedConn, message: Control): Promise<void> {
  return conn.send(encoder.encode(JSON.stringify(message)));
}

/** Receives one control message; `null` at a clean end of the stream. */
export async function receiveControl(conn: FramedConn): Promise<Control | null> {
  const frame = await conn.receive();
  if (frame === null) return null;
  if (frame.length > MAX_CONTROL_FRAME) {
    throw new FileTransferError(
      "too-large",
      `the peer sent a control message of ${frame.length} bytes (limit ${MAX_CONTROL_FRAME})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(frame));
  } catch (cause) {
    throw new FileTransferError("protocol", "the peer sent a control frame that is not JSON", {
      cause,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FileTransferError("protocol", "the peer sent a control frame that is not an object");
  }
  return value as Control;
}

const CODES = new Set<string>(FILE_TRANSFER_ERROR_CODES);

/** The error a peer reported in a `refuse`, `ack` or `error` message. */
export function remoteError(message: Control, what: string): FileTransferError {
  const code = typeof message.code === "string" && CODES.has(message.code)
    ? message.code as FileTransferErrorCode
    : "protocol";
  const text = typeof message.error === "string" ? message.error : "no reason given";
  return new FileTransferError(code, `${what}: ${text}`, { remote: true });
}

/** The control message that tells the peer about `error`. */
export function errorMessage(
  type: "refuse" | "ack" | "error",
  error: FileTransferError,
): Control {
  return type === "ack"
    ? { type, ok: false, code: error.code, error: error.message }
    : { type, code: error.code, error: error.message };
}

const CONNECTION_ERRORS = [
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.BrokenPipe,
  Deno.errors.BadResource,
  Deno.errors.Interrupted,
  Deno.errors.NotConnected,
  Deno.errors.UnexpectedEof,
];

/** Whether a local write failed because the disk is full (or over quota). */
export function isNoSpace(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === "ENOSPC" || code === "EDQUOT" || /os error (28|122)\)/.test(error.message);
}

/** Turns anything thrown during a transfer into a {@linkcode FileTransferError}. */
export function toTransferError(error: unknown): FileTransferError {
  if (error instanceof FileTransferError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TimeoutError) {
    return new FileTransferError("timeout", message, { cause: error });
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new FileTransferError("timeout", message, { cause: error });
  }
  if (error instanceof TruncatedFrameError) {
    return new FileTransferError("truncated", `the connection ended early: ${message}`, {
      cause: error,
    });
  }
  if (error instanceof FrameTooLargeError) {
    return new FileTransferError("too-large", message, { cause: error });
  }
  if (error instanceof CorruptFrameError) {
    return new FileTransferError("bad-header", message, { cause: error });
  }
  if (CONNECTION_ERRORS.some((type) => error instanceof type)) {
    return new FileTransferError("connection", `connection failed: ${message}`, { cause: error });
  }
  if (error instanceof Deno.errors.NotFound) {
    return new FileTransferError("not-found", message, { cause: error });
  }
  if (isNoSpace(error)) {
    return new FileTransferError("no-space", `the disk is full (${message})`, { cause: error });
  }
  return new FileTransferError("io", message, { cause: error });
}

/** `name` quoted for a message. */
export function quoted(name: unknown): string {
  return escapeFileName(name);
}
