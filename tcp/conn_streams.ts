/**
 * Web Streams over a framed connection: a `ReadableStream` of received frames and a
 * `WritableStream` that sends each chunk as a frame, with the send queue's backpressure.
 *
 * @module
 */

import type { FramedConn } from "./framed_conn.ts";
import type { WriteQueue } from "./write_queue.ts";

/**
 * The frames `conn` receives, as a stream pulled one frame at a time.
 *
 * @param conn The connection.
 * @returns The stream.
 */
export function frameReadable(conn: FramedConn): ReadableStream<Uint8Array> {
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
export function frameWritable(conn: FramedConn, queue: WriteQueue): WritableStream<Uint8Array> {
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
