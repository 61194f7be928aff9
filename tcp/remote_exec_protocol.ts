/**
 * The wire protocol of remote commands, on length-prefixed frames (`u32be`): each frame's first
 * byte is the message type, the rest its body (JSON or raw output bytes).
 *
 * ```
 * server → client  HELLO   {"protocol":"sockkit-remote-exec","version":1,"nonce":hex,"auth":bool}
 * client → server  AUTH    client nonce (32 bytes) + HMAC proof (32 bytes); empty without auth
 * server → client  READY   {"proof":hex,"shell":bool,"allow":[…]|null,"timeout":ms,"maxOutput":n}
 *                  or ERROR {"message":…} and the connection closes
 * client → server  RUN     {"argv":[…]} or {"shell":"line"}        (then, optionally, CANCEL)
 * server → client  STDOUT / STDERR chunks as produced …, then EXIT {"code","signal","timedOut",
 *                  "truncated","exitStatus","durationMs"}; or REFUSED {"message"}
 * ```
 *
 * Several RUNs follow one another on a connection; the client half-closes or closes to end it.
 *
 * @module
 */

import { FrameReader } from "../framing/frame_reader.ts";
import { FrameFormat } from "../framing/frame_format.ts";
import { CorruptFrameError } from "../framing/errors.ts";

/** Message types (the first byte of each frame). */
export const MSG = Object.freeze(
  {
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

/** The protocol's name in HELLO. */
export const PROTOCOL_NAME = "sockkit-remote-exec";
/** The protocol's version in HELLO. */
export const PROTOCOL_VERSION = 1;

/** One decoded message. */
export interface Message {
  /** The type byte. */
  type: number;
  /** The body (a view of the frame). */
  body: Uint8Array;
}

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
 * Writes all of `bytes` (Deno's `write` may write only part).
 *
 * @param conn The connection.
 * @param bytes The bytes.
 */
export async function writeFully(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/**
 * A message channel over one connection: serialized sends, pull-based receives. Used by both
 * the server and the client.
 */
export class MessageChannel {
  /** The connection. */
  readonly conn: Deno.Conn;
  /** The frame reader on the connection. */
  readonly reader: FrameReader;
  #format: FrameFormat;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * Wraps a connection.
   *
   * @param conn The connection.
   * @param maxFrameLength The largest frame accepted from the peer.
   */
  constructor(conn: Deno.Conn, maxFrameLength: number) {
    this.conn = conn;
    this.#format = new FrameFormat({ lengthFormat: "u32be", maxFrameLength });
    this.reader = new FrameReader({
      read: async () => {
        if (this.#closed) return null;
        const buffer = new Uint8Array(64 * 1024); // fresh per read: frames are views of it
        let n: number | null;
        try {
          n = await conn.read(buffer);
        } catch (error) {
          if (this.#closed) return null; // we closed it under a pending read
          throw error;
        }
        return n === null ? null : buffer.subarray(0, n);
      },
    }, this.#format);
  }

  /** Whether {@linkcode MessageChannel.prototype.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one message; sends are queued in call order.
   *
   * @param type The type byte.
   * @param body Raw bytes or a JSON object.
   */
  send(type: number, body: Uint8Array | Record<string, unknown> = new Uint8Array()): Promise<void> {
    const bytes = body instanceof Uint8Array ? body : encoder.encode(JSON.stringify(body));
    const frame = new Uint8Array(4 + 1 + bytes.length);
    new DataView(frame.buffer).setUint32(0, 1 + bytes.length);
    frame[4] = type;
    frame.set(bytes, 5);
    const write = this.#tail.then(() => writeFully(this.conn, frame));
    this.#tail = write.catch(() => {});
    return write;
  }

  /**
   * Receives the next message.
   *
   * @returns The message, or `null` at the end of the stream.
   */
  async receive(): Promise<Message | null> {
    const frame = await this.reader.readFrame();
    if (frame === null) return null;
    if (frame.length === 0) throw new CorruptFrameError("an empty remote-exec message");
    return { type: frame[0], body: frame.subarray(1) };
  }

  /** Waits for queued sends. */
  flushed(): Promise<void> {
    return this.#tail;
  }

  /** Closes the connection (once). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }
}
