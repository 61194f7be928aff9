/**
 * The receiving half of a framed connection: one receive at a time, frames and envelopes from
 * one read side, and what a failure or a close here means for the next receive.
 *
 * @module
 */

import { FrameDecoder } from "../framing/frame_decoder.ts";
import {
  type Envelope,
  type EnvelopeHeader,
  type EnvelopeOptions,
  parseEnvelopeHeader,
  type ResolvedEnvelopeOptions,
  resolveEnvelopeOptions,
} from "../framing/envelope.ts";
import {
  CorruptFrameError,
  FrameError,
  FrameTooLargeError,
  TruncatedFrameError,
} from "../framing/errors.ts";
import { type FrameSource, ReadSide } from "./read_side.ts";
import { envelopeBody } from "./conn_streams.ts";

/** Why envelopes are refused on a connection framed by delimiters. */
export const ENVELOPES_NEED_LENGTH =
  "envelopes are length-prefixed: this connection is framed by a delimiter " +
  '(use framing: "length" for envelopes)';

interface EnvelopeReading {
  resolved: ResolvedEnvelopeOptions;
  decoder: FrameDecoder;
}

/** What the receiver needs to know of its connection. */
export interface ReceiverHost {
  /** Whether the connection was closed. */
  readonly closed: boolean;
  /** Why it failed (a deadline, a signal's reason), if it did. */
  readonly failure: unknown;
  /** Closes the connection (after a bad frame: the peer would be misread from now on). */
  destroy(): void;
}

/** Receives frames and envelopes for a {@linkcode FramedConn}. */
export class FrameReceiver {
  #read: FrameSource;
  /** The read side, when it is a length-prefix one (envelopes need it). */
  #raw: ReadSide | undefined;
  #host: ReceiverHost;
  #receiving = false;
  #bodyActive = false;
  #bodyLength = 0;
  #bodyLeft = 0;
  /** Whether the last envelope's body was read to its end (`readBodyInto` then returns null). */
  #bodyEnded = false;
  #readError: unknown = undefined;
  #ended = false;
  #envelopes = new WeakMap<EnvelopeOptions, EnvelopeReading>();
  #defaultEnvelope: EnvelopeReading | undefined;

  /**
   * @param read The read side.
   * @param host The connection's state.
   */
  constructor(read: FrameSource, host: ReceiverHost) {
    this.#read = read;
    this.#raw = read instanceof ReadSide ? read : undefined;
    this.#host = host;
  }

  /**
   * Receives the next frame (see FramedConn.receive).
   *
   * @returns The frame, or `null` at a clean end of the stream.
   */
  receive(): Promise<Uint8Array | null> {
    const misuse = this.#checkReceive();
    if (misuse !== undefined) return Promise.reject(misuse);
    // fast path: the next frame is already in the read buffer
    let frame: Uint8Array | undefined;
    try {
      frame = this.#read.nextBuffered();
    } catch (error) {
      return Promise.reject(this.#readFailed(error));
    }
    if (frame !== undefined) return Promise.resolve(frame);
    return this.#receiving_(() => this.#read.readFrame());
  }

  /**
   * Receives the next envelope (see FramedConn.receiveEnvelope).
   *
   * @param options The envelope layout.
   * @returns The envelope, or `null` at a clean end of the stream.
   */
  async receiveEnvelope(options?: EnvelopeOptions): Promise<Envelope | null> {
    const raw = this.#rawSide();
    const misuse = this.#checkReceive();
    if (misuse !== undefined) throw misuse;
    const { resolved, decoder } = this.#envelopeReading(options);
    const json = await this.#receiving_(() => raw.readFrame(decoder));
    if (json === null) return null;
    let parsed: { header: EnvelopeHeader; bodyLength: number };
    try {
      parsed = parseEnvelopeHeader(json, resolved);
    } catch (error) {
      throw this.#readFailed(error);
    }
    return { ...parsed, body: this.#body(parsed.bodyLength) };
  }
  /** The length-prefix read side; envelopes are length-prefixed, so they need one. */
  #rawSide(): ReadSide {
    if (this.#raw === undefined) throw new TypeError(ENVELOPES_NEED_LENGTH);
    return this.#raw;
  }

  #checkReceive(): unknown {
    if (this.#receiving) {
      return new TypeError(
        "receive() is already waiting on this connection: receive from one place at a time",
      );
    }
    if (this.#bodyActive) {
      return new TypeError(
        "the previous envelope's body is still unread: read it to the end or cancel it first",
      );
    }
    if (this.#readError !== undefined) return this.#readError;
    if (this.#host.closed) {
      return this.#host.failure ?? new Deno.errors.BadResource("the connection is closed");
    }
    return undefined;
  }

  async #receiving_<T>(read: () => Promise<T | null>): Promise<T | null> {
    if (this.#ended) return null;
    this.#receiving = true;
    try {
      const value = await read();
      if (value === null) {
        if (this.#host.closed) throw this.#closedWhileWaiting();
        this.#ended = true;
        if (this.#read.resetError !== undefined) throw this.#read.resetError;
      }
      return value;
    } catch (error) {
      throw this.#readFailed(error);
    } finally {
      this.#receiving = false;
    }
  }

  #closedWhileWaiting(): unknown {
    return this.#host.failure ??
      new Deno.errors.Interrupted("the connection was closed while receive() waited");
  }

  #readFailed(error: unknown): unknown {
    if (error instanceof TypeError) return error;
    if (this.#host.failure !== undefined) return this.#readError = this.#host.failure;
    if (this.#host.closed && !(error instanceof FrameError)) {
      return this.#closedWhileWaiting();
    }
    if (
      error instanceof FrameTooLargeError || error instanceof CorruptFrameError ||
      error instanceof TruncatedFrameError
    ) {
      this.#host.destroy();
    }
    this.#readError = error;
    return error;
  }

  #envelopeReading(options?: EnvelopeOptions): EnvelopeReading {
    const make = (): EnvelopeReading => {
      const resolved = resolveEnvelopeOptions(options);
      return { resolved, decoder: new FrameDecoder(resolved.headerFormat) };
    };
    if (options === undefined) return this.#defaultEnvelope ??= make();
    let reading = this.#envelopes.get(options);
    if (reading === undefined) this.#envelopes.set(options, reading = make());
    return reading;
  }

  #body(length: number): ReadableStream<Uint8Array> {
    const raw = this.#rawSide();
    this.#bodyLength = this.#bodyLeft = length;
    this.#bodyEnded = length === 0;
    if (length > 0) this.#bodyActive = true;
    return envelopeBody(length, {
      read: async (max) => {
        const piece = await this.#receiving_(() => raw.readRaw(max));
        if (piece !== null) this.#bodyLeft -= piece.length;
        return piece;
      },
      skip: async (max) => {
        const n = await raw.skipRaw(max);
        this.#bodyLeft -= n;
        return n;
      },
      end: () => {
        this.#bodyActive = false;
        if (this.#bodyLeft === 0) this.#bodyEnded = true;
      },
    });
  }

  /**
   * Reads the next bytes of the current envelope body into `target` (see
   * FramedConn.readBodyInto).
   *
   * @param target Where the bytes go.
   * @returns How many bytes were read, or `null` once the whole body was read.
   */
  async readBodyInto(target: Uint8Array): Promise<number | null> {
    const raw = this.#rawSide();
    if (!(target instanceof Uint8Array)) throw new TypeError("target must be a Uint8Array");
    if (this.#bodyEnded) return null;
    if (!this.#bodyActive) throw new TypeError("no envelope body is being received");
    if (target.length === 0) return 0;
    const into = target.subarray(0, Math.min(target.length, this.#bodyLeft));
    const n = await this.#receiving_(() => raw.readInto(into)).catch((error) => {
      this.#bodyActive = false;
      throw error;
    });
    if (n === null) {
      this.#bodyActive = false;
      throw new TruncatedFrameError(this.#bodyLength, this.#bodyLength - this.#bodyLeft, "body");
    }
    this.#bodyLeft -= n;
    if (this.#bodyLeft === 0) {
      this.#bodyActive = false;
      this.#bodyEnded = true;
    }
    return n;
  }
}
