/**
 * The wire protocol of remote commands and the types both sides share. Messages ride on the
 * framed transport (`u32be` length-prefixed frames, {@linkcode FramedConn}); each frame's first
 * byte is the message type, the rest its body (JSON or raw output bytes).
 *
 * ```
 * client → server  CLIENT_HELLO {"protocol":"sockkit-remote-exec","version":2}   (sent at once)
 * server → client  HELLO   {"protocol":"sockkit-remote-exec","version":2,"nonce":hex,"auth":bool}
 * client → server  AUTH    client nonce (32 bytes) + HMAC proof (32 bytes); empty without auth
 * server → client  READY   {"proof":hex,"shell":bool,"allow":[…]|null,"timeout":ms,"maxOutput":n}
 *                  or ERROR {"message":…} and the connection closes
 * client → server  RUN     {"argv":[…]} or {"shell":"line"}        (then, optionally, CANCEL)
 * server → client  STDOUT / STDERR chunks as produced …, then EXIT {"code","signal","timedOut",
 *                  "truncated","cancelled","exitStatus","durationMs"}; or REFUSED {"message"}
 * ```
 *
 * The client speaks first, so a client that talks plain TCP to a TLS server is turned away at
 * once instead of both sides waiting for the other. Several RUNs follow one another on a
 * connection; the client half-closes or closes to end it.
 *
 * @module
 */

import { CorruptFrameError } from "../../framing/errors.ts";
import type { FramedConn } from "../framed_conn.ts";

/**
 * Message types (the first byte of each frame).
 *
 * @example Every type has its own byte
 * ```ts
 * import { MSG } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * const bytes = Object.values(MSG);
 * assert.equal(new Set(bytes).size, bytes.length);
 * assert.equal(MSG.RUN, 0x10);
 * ```
 */
export const MSG: Readonly<{
  CLIENT_HELLO: 0x04;
  HELLO: 0x01;
  AUTH: 0x02;
  READY: 0x03;
  RUN: 0x10;
  STDOUT: 0x11;
  STDERR: 0x12;
  EXIT: 0x13;
  REFUSED: 0x14;
  CANCEL: 0x15;
  ERROR: 0x7f;
}> = Object.freeze(
  {
    CLIENT_HELLO: 0x04,
    HELLO: 0x01,
    AUTH: 0x02,
    READY: 0x03,
    RUN: 0x10,
    STDOUT: 0x11,
    STDERR: 0x12,
    EXIT: 0x13,
    REFUSED: 0x14,
    CANCEL: 0x15,
    ERROR: 0x7f,
  } as const,
);

/** The protocol's name in HELLO and CLIENT_HELLO. */
export const PROTOCOL_NAME = "sockkit-remote-exec";
/** The protocol's version in HELLO and CLIENT_HELLO. */
export const PROTOCOL_VERSION = 2;
/** The length of nonces and proofs, in bytes. */
export const AUTH_NONCE_LENGTH = 32;

/** One decoded message. */
export interface RemoteExecMessage {
  /** The type byte (one of {@linkcode MSG}). */
  type: number;
  /** The body (a view of the frame). */
  body: Uint8Array;
}

/** What the server told about itself after authentication (the READY message). */
export interface RemoteExecServerInfo {
  /** Whether it takes shell lines. */
  shell: boolean;
  /** Its allow-list, or `null` when every program may run. */
  allow: string[] | null;
  /** Its per-command timeout in milliseconds (0: none). */
  timeout: number;
  /** Its output cap in bytes. */
  maxOutput: number;
}

/** How a remote command ended (the EXIT message). */
export interface RemoteExecResult {
  /** The exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or `null`. */
  signal: string | null;
  /** Whether the server's timeout stopped it. */
  timedOut: boolean;
  /** Whether its output went over the server's cap (cut, and the command stopped). */
  truncated: boolean;
  /** Whether it was cancelled. */
  cancelled: boolean;
  /** The status a shell would report: 124 on timeout, 128 + signal number, else the code. */
  exitStatus: number;
  /** Run time on the server, in milliseconds. */
  durationMs: number;
}

/** A command: an argv, or `{ shell: line }` for servers that take shell lines. */
export type RemoteCommand = readonly string[] | { shell: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes as lowercase hex.
 *
 * @param bytes The bytes.
 * @returns The hex text.
 */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Hex text as bytes.
 *
 * @param text The hex text.
 * @returns The bytes.
 * @throws {CorruptFrameError} On bad hex.
 */
export function fromHex(text: unknown): Uint8Array {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) {
    throw new CorruptFrameError("bad hex field in a remote-exec message");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Parses a JSON object body.
 *
 * @param body The body.
 * @returns The object.
 * @throws {CorruptFrameError} When it is not a UTF-8 JSON object.
 */
export function parseJsonBody(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new CorruptFrameError("a remote-exec message body is not valid JSON", { cause });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CorruptFrameError("a remote-exec message body is not a JSON object");
  }
  return value as Record<string, unknown>;
}

/**
 * Sends one message as one frame on a framed connection.
 *
 * @param conn The connection.
 * @param type The type byte (one of {@linkcode MSG}).
 * @param body Raw bytes or a JSON object.
 * @returns What {@linkcode FramedConn.prototype.send} returns.
 */
export function sendMessage(
  conn: FramedConn,
  type: number,
  body: Uint8Array | Record<string, unknown> = new Uint8Array(),
): Promise<void> {
  const bytes = body instanceof Uint8Array ? body : encoder.encode(JSON.stringify(body));
  const frame = new Uint8Array(1 + bytes.length);
  frame[0] = type;
  frame.set(bytes, 1);
  return conn.send(frame);
}

/**
 * Receives the next message from a framed connection.
 *
 * @param conn The connection.
 * @returns The message, or `null` at the end of the stream.
 * @throws {CorruptFrameError} On an empty frame; and whatever
 *   {@linkcode FramedConn.prototype.receive} throws.
 */
export async function receiveMessage(conn: FramedConn): Promise<RemoteExecMessage | null> {
  const frame = await conn.receive();
  if (frame === null) return null;
  if (frame.length === 0) throw new CorruptFrameError("an empty remote-exec message");
  return { type: frame[0], body: frame.subarray(1) };
}
