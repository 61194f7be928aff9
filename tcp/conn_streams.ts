/**
 * Web Streams over a framed connection: a `ReadableStream` of received frames and a
 * `WritableStream` that sends each chunk as a frame, with the send queue's backpressure.
 *
 * @module
 */

import { TruncatedFrameError } from "../framing/errors.ts";
import type { WriteQueue } from "./write_queue.ts";

/** What the streams need of a framed connection. */
interface StreamableConn {
  receive(): Promise<Uint8Array | null>;
  closeWrite(): Promise<void>;
  abort(reason?: unknown): void;
  readonly closed: boolean;
}

/**
 * The frames `conn` receives, as a stream pulled one frame at a time.
 *
 * @param conn The connection.
 * @returns The stream.
 */
export function frameReadable(conn: StreamableConn): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let frame: Uint8Array | null;
      try {
        frame = await conn.receive();
      } catch (error) {
        // closed here, with no reason given: the end of the stream, as for `for await`
        if (conn.closed && isClosedHere(error)) frame = null;
        else throw error;
      }
      if (frame === null) controller.close();
      else controller.enqueue(frame);
    },
    cancel(reason) {
      conn.abort(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * A stream that sends each chunk as one frame on `conn`. A chunk counts as one unit against a
 * high-water mark of one: `desiredSize` is 1 while the send queue is below its `highWaterMark`
 * and drops to 0 (the writer's `ready` waits) while the queue is full.
 *
 * @param conn The connection.
 * @param queue Its send queue.
 * @returns The stream.
 */
export function frameWritable(conn: StreamableConn, queue: WriteQueue): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return queue.send(chunk);
    },
    close() {
      return conn.closeWrite();
    },
    abort(reason) {
      conn.abort(reason);
    },
  }, new CountQueuingStrategy({ highWaterMark: 1 }));
}

function isClosedHere(error: unknown): boolean {
  return error instanceof Deno.errors.Interrupted || error instanceof Deno.errors.BadResource;
}

/** How an envelope's body reads the connection. */
export interface BodySource {
  /** Reads up to `max` bytes; `null` at the end of the stream. */
  read(max: number): Promise<Uint8Array | null>;
  /** Skips up to `max` bytes; 0 at the end of the stream. */
  skip(max: number): Promise<number>;
  /** Called once the body is read, cancelled or failed. */
  end(): void;
}

/**
 * An envelope's body: exactly `length` bytes of the stream, pulled on demand (no read-ahead);
 * cancelling skips the rest so that the next frame can be read.
 *
 * @param length The body's declared length.
 * @param source Where its bytes come from.
 * @returns The body.
 */
export function envelopeBody(length: number, source: BodySource): ReadableStream<Uint8Array> {
  let remaining = length;
  if (length === 0) return new ReadableStream({ start: (controller) => controller.close() });
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      let piece: Uint8Array | null;
      try {
        piece = await source.read(remaining);
      } catch (error) {
        source.end();
        throw error;
      }
      if (piece === null) {
        source.end();
        controller.error(new TruncatedFrameError(length, length - remaining, "body"));
        return;
      }
      remaining -= piece.length;
      controller.enqueue(piece);
      if (remaining === 0) {
        source.end();
        controller.close();
      }
    },
    cancel: async () => {
      try {
        while (remaining > 0) {
          const n = await source.skip(remaining);
          if (n === 0) break;
          remaining -= n;
        }
      } finally {
        source.end();
      }
    },
  }, { highWaterMark: 0 });
}
