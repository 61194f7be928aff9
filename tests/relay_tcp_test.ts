// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { equalBytes, FRAME_PRESETS, TruncatedFrameError } from "../framing/mod.ts";
import {
  connectFramed,
  type FramedConnOptions,
  listenFramed,
  startTcpRelay,
  type TcpRelayOptions,
} from "../tcp/mod.ts";
import { Random } from "./_random.ts";

const permissions: Deno.TestDefinition["permissions"] = { net: ["127.0.0.1"], env: true };

/**
 * A raw TCP client connected through a relay (started with `relayOptions`) to a fresh listener,
 * and the accepted end; disposing closes the ends, then the relay, then the listener.
 */
async function rawThrough(relayOptions: Omit<TcpRelayOptions, "target">) {
  await using stack = new AsyncDisposableStack();
  const listener = stack.use(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const relay = stack.use(await startTcpRelay({ ...relayOptions, target: listener.addr }));
  const client = stack.use(await Deno.connect(relay.addr));
  const conn = stack.use(await listener.accept());
  const owned = stack.move();
  return { relay, client, conn, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

/** Echoes frames through a relay; returns what came back and the relay's stats. */
async function echoThrough(
  relayOptions: Omit<TcpRelayOptions, "target">,
  frameOptions: FramedConnOptions,
  payloads: Uint8Array[],
) {
  await using listener = listenFramed({ hostname: "127.0.0.1", port: 0, ...frameOptions });
  await using relay = await startTcpRelay({ ...relayOptions, target: listener.addr });
  const server = (async () => {
    await using conn = (await listener.accept())!;
    for await (const frame of conn) await conn.send(frame);
  })();
  const got: Uint8Array[] = [];
  {
    await using client = await connectFramed({ port: relay.addr.port, ...frameOptions });
    const receiving = (async () => {
      for (let i = 0; i < payloads.length; i++) got.push((await client.receive())!.slice());
    })();
    for (const payload of payloads) await client.send(payload);
    await receiving;
    await client.closeWrite();
    assert.equal(await client.receive(), null);
  }
  await server;
  return { got, stats: structuredClone(relay.stats) };
}

for (
  const [name, frameOptions] of [["u32be", {}], ["Python's i32le", FRAME_PRESETS.python]] as const
) {
  Deno.test({
    name: `relay: ${name} frames sliced into 1-7-byte writes with jitter arrive whole, both ways`,
    permissions,
    async fn() {
      const random = new Random();
      const payloads = Array.from({ length: 60 }, () => random.bytes(random.int(0, 300)));
      const { got, stats } = await echoThrough(
        { slice: [1, 7], jitter: 0.3, seed: random.seed },
        frameOptions,
        payloads,
      );
      assert.equal(got.length, payloads.length, `seed ${random.seed}`);
      payloads.forEach((p, i) =>
        assert.ok(equalBytes(got[i], p), `frame ${i}, seed ${random.seed}`)
      );
      const bytes = payloads.reduce((n, p) => n + p.length + 4, 0);
      for (const dir of [stats.up, stats.down]) {
        assert.equal(dir.bytesOut, bytes);
        assert.ok(dir.largestWrite <= 7 && dir.smallestWrite >= 1);
        assert.ok(dir.writes >= Math.ceil(bytes / 7));
      }
    },
  });
}

Deno.test({
  name: "relay: coalescing merges small writes into one",
  permissions,
  async fn() {
    await using through = await rawThrough({ coalesce: 100, coalesceMs: 5000 });
    const { relay, client, conn } = through;
    client.setNoDelay(true);
    for (let i = 0; i < 10; i++) {
      await client.write(new Uint8Array(10).fill(i));
      await new Promise((r) => setTimeout(r, 2));
    }
    const buffer = new Uint8Array(1000);
    assert.equal(await conn.read(buffer), 100); // 10 writes of 10 bytes, passed on as one
    assert.ok(relay.stats.up.reads > 1); // the relay read the writes apart…
    assert.equal(relay.stats.up.writes, 1); // …and wrote them as one
  },
});

for (const limit of ["resetAfter", "closeAfter"] as const) {
  Deno.test({
    name: `relay: ${limit} mid-frame gives the far side a TruncatedFrameError`,
    permissions,
    async fn() {
      await using listener = listenFramed({ hostname: "127.0.0.1", port: 0 });
      await using relay = await startTcpRelay({ target: listener.addr, up: { [limit]: 504 } });
      await using client = await connectFramed({ port: relay.addr.port });
      await using server = (await listener.accept())!;
      await client.send(new Uint8Array(100)); // 104 bytes on the wire: passes
      await client.send(new Uint8Array(1000)); // cut 400 bytes into this one
      assert.equal((await server.receive())!.length, 100);
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TruncatedFrameError, String(error));
      if (limit === "resetAfter") {
        assert.ok(error.cause instanceof Deno.errors.ConnectionReset, String(error.cause));
      }
      const event = limit === "resetAfter" ? "reset-after" : "close-after";
      assert.deepEqual(
        relay.log.filter((e) => e.event === event).map(({ bytes, direction }) => ({
          bytes,
          direction,
        })),
        [{ bytes: 504, direction: "up" }],
      );
      assert.equal(relay.stats.up.bytesOut, 504);
    },
  });
}

Deno.test({
  name: "relay: a reset after n bytes reaches both peers as ConnectionReset",
  permissions,
  async fn() {
    await using through = await rawThrough({ down: { resetAfter: 3 } });
    const { client, conn } = through;
    await conn.write(new TextEncoder().encode("hello"));
    const buffer = new Uint8Array(10);
    let got = 0, error: unknown;
    try {
      for (let n; (n = await client.read(buffer.subarray(got))) !== null;) got += n;
    } catch (e) {
      error = e;
    }
    assert.equal(got, 3);
    assert.ok(error instanceof Deno.errors.ConnectionReset, String(error));
    const serverError = await conn.read(buffer).then(() => undefined, (e) => e);
    assert.ok(serverError instanceof Deno.errors.ConnectionReset, String(serverError));
  },
});

Deno.test({
  name: "relay: timeout passes nothing, then closes the connection",
  permissions,
  async fn() {
    await using through = await rawThrough({ up: { timeout: 100 } });
    const { relay, client, conn } = through;
    await client.write(new Uint8Array(50));
    assert.equal(await conn.read(new Uint8Array(100)), null); // nothing passed, then the end
    assert.equal(relay.stats.up.dropped, 50);
    assert.equal(relay.stats.up.bytesOut, 0);
    assert.ok(relay.log.some((e) => e.event === "timeout" && e.direction === "up"));
  },
});

Deno.test({
  name: "relay: latency, bandwidth and slow close still deliver every byte in order",
  permissions,
  async fn() {
    await using through = await rawThrough({
      latency: 5,
      jitter: 3,
      bandwidth: 2000,
      slowClose: 20,
      slice: [100, 900],
      seed: 3,
    });
    const { client, conn } = through;
    const data = new Random(3).bytes(20_000);
    const received = new Response(conn.readable).bytes();
    await client.write(data.subarray(0, 10_000));
    await client.write(data.subarray(10_000));
    await client.closeWrite();
    assert.ok(equalBytes(await received, data));
  },
});

Deno.test({
  name: "relay: refuses non-loopback addresses and bad impairments",
  permissions,
  async fn() {
    const target = { hostname: "127.0.0.1", port: 9 };
    // a documentation address (never routed): refused before any socket is made
    await assert.rejects(
      () => startTcpRelay({ target: { hostname: "192.0.2.1", port: 9 } }),
      RangeError,
    );
    await assert.rejects(() => startTcpRelay({ target, hostname: "0.0.0.0" }), RangeError);
    await assert.rejects(() => startTcpRelay({ target, slice: [5, 2] }), RangeError);
    await assert.rejects(() => startTcpRelay({ target, latency: -1 }), RangeError);
    await assert.rejects(
      () => startTcpRelay({ target, up: { closeAfter: 1, resetAfter: 2 } }),
      TypeError,
    );
    await assert.rejects(() => startTcpRelay({ target, jitter: "3" as never }), TypeError);
  },
});

Deno.test({
  name: "relay: a target that refuses connections closes the client and is logged",
  permissions,
  async fn() {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const target = closed.addr;
    closed.close();
    await using relay = await startTcpRelay({ target });
    using client = await Deno.connect(relay.addr);
    const n = await client.read(new Uint8Array(10)).catch(() => null);
    assert.equal(n, null);
    assert.ok(relay.log.some((e) => e.event === "connect-failed"));
  },
});

Deno.test({
  name: "relay: one seed slices the same bytes into the same writes, however they were chunked",
  permissions,
  async fn() {
    async function writes(seed: number, chunks: number[]): Promise<number[]> {
      await using through = await rawThrough({ slice: [1, 7], seed, record: true });
      const { relay, client, conn } = through;
      client.setNoDelay(true); // else Nagle holds a small write ~40 ms, past the relay's wait
      const data = new Random(1).bytes(chunks.reduce((a, b) => a + b));
      const received = new Response(conn.readable).bytes();
      let at = 0;
      for (const size of chunks) {
        // back to back: a pause over the relay's 20 ms wait would cut a piece (and this machine's
        // timers stretch 1 ms to 20 under load)
        await client.write(data.subarray(at, at += size));
      }
      await client.closeWrite();
      assert.ok(equalBytes(await received, data));
      return relay.log.filter((e) => e.event === "write").map((e) => e.bytes!);
    }
    const first = await writes(77, [3000]);
    assert.equal(first.reduce((a, b) => a + b), 3000);
    assert.ok(first.every((n) => n >= 1 && n <= 7));
    assert.deepEqual(await writes(77, [1, 999, 17, 1983]), first);
    assert.notDeepEqual(await writes(78, [3000]), first);
  },
});

Deno.test({
  name: "relay: a reset from one peer is passed on to the other as a reset",
  permissions,
  async fn() {
    using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    // client → outer (no impairment) → inner (resets after 10 bytes up) → server
    await using inner = await startTcpRelay({ target: server.addr, up: { resetAfter: 10 } });
    await using outer = await startTcpRelay({ target: inner.addr });
    using client = await Deno.connect(outer.addr);
    using _conn = await server.accept();
    await client.write(new Uint8Array(100));
    const error = await client.read(new Uint8Array(10)).then(() => undefined, (e) => e);
    assert.ok(error instanceof Deno.errors.ConnectionReset, String(error));
    assert.ok(outer.log.some((e) => e.event === "reset"));
  },
});
