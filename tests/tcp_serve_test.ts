import assert from "node:assert/strict";
import { connectFramed, type FramedConn, serveFramed } from "../tcp/mod.ts";
import { encodeFrame, TruncatedFrameError } from "../framing/mod.ts";
import { writeAll } from "../tcp/mod.ts";

const NET = { net: ["127.0.0.1"] };
const text = new TextEncoder();
const untext = new TextDecoder();

async function echo(conn: FramedConn): Promise<void> {
  for await (const frame of conn) await conn.send(frame);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function roundTrip(conn: FramedConn, message: string): Promise<string> {
  await conn.send(text.encode(message));
  const reply = await conn.receive();
  assert.ok(reply !== null, "connection closed");
  return untext.decode(reply);
}

Deno.test({
  name: "serveFramed: a throwing handler and a peer reset mid-frame are reported, others go on",
  permissions: NET,
  async fn() {
    const errors: { error: unknown; port?: number }[] = [];
    await using server = serveFramed({
      port: 0,
      async handler(conn) {
        const first = await conn.receive();
        if (first !== null && untext.decode(first) === "boom") throw new Error("handler exploded");
        if (first !== null) await conn.send(first);
        await echo(conn);
      },
      onError: (error, addr) => errors.push({ error, port: (addr as Deno.NetAddr)?.port }),
    });
    const port = server.addr.port;
    await using healthy = await connectFramed({ port });
    assert.equal(await roundTrip(healthy, "one"), "one");

    // a handler that throws: only its connection closes
    await using bomb = await connectFramed({ port });
    await bomb.send(text.encode("boom"));
    assert.equal(await bomb.receive(), null);

    // a peer that dies in the middle of a frame; the echo of its first frame is still unread in
    // its receive buffer, so its close is a reset (RST), not a FIN
    const raw = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(raw, encodeFrame(text.encode("hi")));
    await writeAll(raw, encodeFrame(new Uint8Array(1000)).subarray(0, 300));
    await delay(20);
    raw.close();

    // the server still serves the old connection and new ones
    assert.equal(await roundTrip(healthy, "two"), "two");
    await using late = await connectFramed({ port });
    assert.equal(await roundTrip(late, "three"), "three");
    for (let i = 0; i < 100 && errors.length < 2; i++) await delay(10);
    assert.equal(errors.length, 2, errors.map((e) => String(e.error)).join("; "));
    const messages = errors.map((e) => e.error);
    assert.ok(messages.some((e) => e instanceof Error && e.message === "handler exploded"));
    const truncated = messages.find((e) => e instanceof TruncatedFrameError);
    assert.ok(truncated instanceof TruncatedFrameError);
    assert.equal(truncated.received, 300);
    assert.equal(server.connections, 2);
  },
});

Deno.test({
  name: "serveFramed: errors are logged by default, not swallowed",
  permissions: NET,
  async fn() {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      await using server = serveFramed({
        port: 0,
        handler() {
          throw new Error("visible failure");
        },
      });
      await using client = await connectFramed({ port: server.addr.port });
      assert.equal(await client.receive(), null);
      for (let i = 0; i < 100 && logged.length === 0; i++) await delay(5);
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1);
    assert.match(String(logged[0][0]), /127\.0\.0\.1:\d+/);
    assert.equal((logged[0][1] as Error).message, "visible failure");
  },
});

Deno.test({
  name: "serveFramed: at most maxConnections handlers run at once; the next waits for a slot",
  permissions: NET,
  async fn() {
    let running = 0;
    let peak = 0;
    await using server = serveFramed({
      port: 0,
      maxConnections: 2,
      async handler(conn) {
        running++;
        peak = Math.max(peak, running);
        try {
          await echo(conn);
        } finally {
          running--;
        }
      },
    });
    const port = server.addr.port;
    await using a = await connectFramed({ port });
    await using b = await connectFramed({ port });
    assert.equal(await roundTrip(a, "a"), "a");
    assert.equal(await roundTrip(b, "b"), "b");
    await using c = await connectFramed({ port }); // connected in the backlog, not handled yet
    await c.send(text.encode("c"));
    const cReply = c.receive();
    const early = await Promise.race([cReply.then(() => "replied"), delay(150).then(() => "held")]);
    assert.equal(early, "held");
    assert.equal(server.connections, 2);
    await a.close();
    assert.equal(untext.decode((await cReply)!), "c");
    assert.equal(peak, 2);
  },
});

Deno.test({
  name: "serveFramed: graceful shutdown loses no in-flight frame",
  permissions: NET,
  async fn() {
    const controller = new AbortController();
    let handlerSawAbort = false;
    const server = serveFramed({
      port: 0,
      signal: controller.signal,
      gracePeriod: 5000,
      async handler(conn, info) {
        info.signal.addEventListener("abort", () => handlerSawAbort = true);
        // keep echoing until the client is done, even during shutdown
        await echo(conn);
      },
    });
    const port = server.addr.port;
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectFramed({ port })));
    const total = 2000;
    const results = clients.map(async (client, c) => {
      const received: string[] = [];
      const reading = (async () => {
        for await (const frame of client) received.push(untext.decode(frame));
      })();
      for (let i = 0; i < total; i++) {
        await client.send(text.encode(`${c}:${i}`));
        if (i === total / 2 && c === 0) controller.abort(); // shutdown starts mid-stream
        if (i % 100 === 0) await delay(1);
      }
      await client.closeWrite();
      await reading;
      await client.close();
      return received;
    });
    const all = await Promise.all(results);
    await server.finished;
    assert.ok(handlerSawAbort, "handlers were not told about the shutdown");
    for (const [c, received] of all.entries()) {
      assert.equal(received.length, total, `client ${c} got ${received.length} of ${total}`);
      for (let i = 0; i < total; i++) assert.equal(received[i], `${c}:${i}`);
    }
    // and the listener is closed
    await assert.rejects(connectFramed({ port }), Deno.errors.ConnectionRefused);
  },
});

Deno.test({
  name: "serveFramed: handlers still running after the grace period are closed",
  permissions: NET,
  async fn() {
    let ended = 0;
    const server = serveFramed({
      port: 0,
      gracePeriod: 200,
      async handler(conn) {
        try {
          await echo(conn); // the client never closes: ends only when the server closes it
        } finally {
          ended++;
        }
      },
    });
    await using client = await connectFramed({ port: server.addr.port });
    assert.equal(await roundTrip(client, "x"), "x");
    const started = performance.now();
    await server.shutdown();
    const took = performance.now() - started;
    // it waited for the grace period before closing (how much longer is the machine's business)
    assert.ok(took >= 190, `shutdown took only ${took} ms`);
    assert.equal(ended, 1);
    assert.equal(await client.receive(), null);
  },
});
