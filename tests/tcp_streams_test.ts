/**
 * FramedConn as Web Streams: frames piped through a TransformStream and back, with backpressure.
 */
import assert from "node:assert/strict";
import { connectFramed, listenFramed, serveFramed } from "../tcp/mod.ts";

const NET = { net: ["127.0.0.1"] };
const text = new TextEncoder();
const untext = new TextDecoder();

Deno.test({
  name: "streams: a server pipes its connection through a TransformStream and back",
  permissions: NET,
  async fn() {
    await using server = serveFramed({
      port: 0,
      async handler(conn) {
        const upper = new TransformStream<Uint8Array, Uint8Array>({
          transform(frame, controller) {
            controller.enqueue(text.encode(untext.decode(frame).toUpperCase()));
          },
        });
        await conn.readable.pipeThrough(upper).pipeTo(conn.writable);
      },
    });
    await using client = await connectFramed({ port: server.addr.port });
    const words = Array.from({ length: 500 }, (_, i) => `word ${i}`);
    const writing = ReadableStream.from(words.map((w) => text.encode(w))).pipeTo(client.writable);
    const got: string[] = [];
    for await (const frame of client.readable) got.push(untext.decode(frame));
    await writing; // closing the writable half-closed the client; the server's pipe then ended
    assert.deepEqual(got, words.map((w) => w.toUpperCase()));
  },
});

Deno.test({
  name: "streams: the writable's desiredSize follows the send queue when the peer stops reading",
  permissions: NET,
  async fn() {
    await using listener = listenFramed({ port: 0 });
    await using client = await connectFramed({
      port: listener.addr.port,
      highWaterMark: 16 * 1024,
    });
    await using server = (await listener.accept())!;
    const writer = client.writable.getWriter();
    assert.equal(writer.desiredSize, 1);
    let written = 0;
    const writes: Promise<void>[] = [];
    // nobody reads: the kernel buffers fill, then the send queue, then the writer must wait
    for (; written < 10_000; written++) {
      writes.push(writer.write(new Uint8Array(16 * 1024)));
      const ready = await Promise.race([
        writer.ready.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 50)),
      ]);
      if (!ready) break;
    }
    assert.ok(written < 10_000, "the writer never had to wait");
    assert.equal(writer.desiredSize, 0);
    assert.ok(client.queuedBytes > 16 * 1024);
    // the peer reads: the queue drains and the writer may go on
    let received = 0;
    const reading = (async () => {
      for await (const frame of server.readable) {
        received += frame.length;
        if (received === (written + 2) * 16 * 1024) return;
      }
    })();
    await writer.ready;
    assert.equal(writer.desiredSize, 1);
    writes.push(writer.write(new Uint8Array(16 * 1024)));
    await Promise.all(writes);
    await writer.close();
    await reading;
    assert.equal(received, (written + 2) * 16 * 1024);
  },
});

Deno.test({
  name: "streams: the readable errors as receive throws, and cancelling it closes the connection",
  permissions: NET,
  async fn() {
    await using listener = listenFramed({ port: 0, idleTimeout: 50 });
    await using client = await connectFramed({ port: listener.addr.port });
    await using server = (await listener.accept())!;
    await assert.rejects(
      server.readable.getReader().read(),
      (e: Error) => e.name === "TimeoutError",
    );
    const reader = client.readable.getReader();
    await reader.cancel();
    assert.ok(client.closed);
  },
});
