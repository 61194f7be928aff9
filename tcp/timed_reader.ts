/**
 * Reads from a connection under the idle and frame deadlines, for both read sides (length
 * prefixes and delimiters): one read at a time, resets turned into the end of the stream.
 *
 * @module
 */

import { Deadline } from "./deadline.ts";
import { TimeoutError } from "./errors.ts";

/** What the read side reads from: Deno's `read` contract. */
export interface ByteReader {
  /** Reads up to `p.length` bytes into `p`; `null` at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/** The deadlines of a {@linkcode TimedReader}. */
export interface ReadDeadlines {
  /** Milliseconds without a byte while waiting (`Infinity`: no limit). */
  idleTimeout: number;
  /** Milliseconds from a frame's first byte to its last (`Infinity`: no limit). */
  frameTimeout: number;
  /** Called when a deadline passes: close the connection (the read then ends). */
  onTimeout: (error: TimeoutError) => void;
}

/**
 * One read at a time under the idle deadline and, inside a frame, the frame deadline: the rest
 * of a frame must arrive within `frameTimeout` of the first read that waited inside it. A reset
 * (`ConnectionReset`, `ConnectionAborted`) ends the stream and is kept for the caller to name as
 * the cause.
 */
export class TimedReader {
  #reader: ByteReader;
  #idleTimeout: number;
  #frameTimeout: number;
  #deadline: Deadline;
  #kind: "idle" | "frame" = "idle";
  #frameStart = -1;
  #eof = false;
  #stopped = false;
  #received = 0;
  #reset: unknown = undefined;

  /**
   * @param reader The connection.
   * @param deadlines The deadlines and what to do when one passes.
   */
  constructor(reader: ByteReader, deadlines: ReadDeadlines) {
    this.#reader = reader;
    this.#idleTimeout = deadlines.idleTimeout;
    this.#frameTimeout = deadlines.frameTimeout;
    this.#deadline = new Deadline(() => {
      const kind = this.#kind;
      deadlines.onTimeout(
        new TimeoutError(kind, kind === "idle" ? this.#idleTimeout : this.#frameTimeout),
      );
    });
  }

  /** The reset that ended the stream, if one did. */
  get resetError(): unknown {
    return this.#reset;
  }

  /** Bytes read so far. */
  get receivedBytes(): number {
    return this.#received;
  }

  /** The frame being read is done: the next one is timed from its own first read. */
  frameDone(): void {
    this.#frameStart = -1;
  }

  /** Stops reading: later reads see the end of the stream. */
  stop(): void {
    this.#stopped = true;
    this.#deadline.stop();
  }

  /**
   * One read into `target`.
   *
   * @param target Where the bytes go.
   * @param inFrame Whether part of a frame is already here (the frame deadline applies).
   * @returns How many bytes were read, or `null` at the end of the stream (or after a reset).
   */
  async read(target: Uint8Array, inFrame: boolean): Promise<number | null> {
    if (this.#eof || this.#stopped) return null;
    let ms = this.#idleTimeout;
    let kind: "idle" | "frame" = "idle";
    if (this.#frameTimeout !== Infinity && inFrame) {
      // part of a frame is here: the rest must come within frameTimeout of its first byte
      if (this.#frameStart < 0) this.#frameStart = performance.now();
      const left = Math.max(0, this.#frameStart + this.#frameTimeout - performance.now());
      if (left < ms) {
        ms = left;
        kind = "frame";
      }
    } else if (!inFrame) {
      this.#frameStart = -1;
    }
    this.#kind = kind;
    this.#deadline.arm(ms);
    try {
      const n = await this.#reader.read(target);
      if (n === null) this.#eof = true;
      else this.#received += n;
      return n;
    } catch (error) {
      if (
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted
      ) {
        this.#reset = error;
        this.#eof = true;
        return null;
      }
      throw error;
    } finally {
      this.#deadline.disarm();
    }
  }
}
