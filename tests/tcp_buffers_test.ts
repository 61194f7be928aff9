import assert from "node:assert/strict";
import {
  connectFramed,
  FramedConn,
  type FramedConnOptions,
  listenFramed,
  TimeoutError,
  writeAll,
} from "../tcp/mod.ts";
import { encodeFrame, FrameTooLargeError } from "../framing/mod.ts";
import { Random } from "./_random.ts";
import { runDeno } from "./_run_deno.ts";

const NET = { net: ["127.0.0.1"] };

/** Frame `i` of `n` bytes: its bytes name it, so a frame overwritten by another shows. */
function payload(i: number, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let j = 0; j < n; j++) bytes[j] = (i * 31 + j * 7 + (j >> 9)) & 0xff;
  return bytes;
}

/** Sizes of every class: empty, tiny, around the read buffer, and far above it. */
function sizes(count: number, seed: number): number[] {
  const rng = new Random(seed);
  const random = () => rng.next();
  const edges = [0, 1, 4095, 4096, 4097, 32 * 1024, 65_536, 65_537, 300_000, 1_100_000];
  return Array.from({ length: count }, (_, i) => {
    if (i < edges.length) return edges[i];
    const r = random();
    return r < 0.6
      ? Math.floor(random() * 200)
      : r < 0.9
      ? Math.floor(random() * 70_000)
      : Math.floor(random() * 1_500_000);
  });
}

/**
 * A scripted connection that hands out `wire` in random pieces (1 byte to 200 KiB), so every
 * split of headers and bodies across reads happens.
 */
function scripted(wire: Uint8Array, seed: number): Deno.Conn {
  const rng = new Random(seed);
  const random = () => rng.next();
  let at = 0;
  const conn = {
    localAddr: { transport: "unix", path: "" },
    remoteAddr: { transport: "unix", path: "" },
    read(p: Uint8Array): Promise<number | null> {
      if (at === wire.length) return Promise.resolve(null);
      const max = random() < 0.3
        ? 1 + Math.floor(random() * 16)
        : 1 + Math.floor(random() * 200_000);
      const n = Math.min(p.length, max, wire.length - at);
      p.set(wire.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    write: (p: Uint8Array) => Promise.resolve(p.length),
    close() {},
    closeWrite: () => Promise.resolve(),
  };
  return conn as unknown as Deno.Conn;
}

function wireOf(lengths: number[]): Uint8Array {
  const frames = lengths.map((n, i) => encodeFrame(payload(i, n)));
  const wire = new Uint8Array(frames.reduce((a, f) => a + f.length, 0));
  let at = 0;
  for (const frame of frames) {
    wire.set(frame, at);
    at += frame.length;
  }
  return wire;
}

for (const reuseBuffers of [false, true]) {
  Deno.test({
    name: `tcp: reuseBuffers ${reuseBuffers}: every frame arrives exact, however the reads cut it`,
    async fn() {
      const lengths = sizes(400, 7);
      for (const seed of [1, 2, 3]) {
        const options: FramedConnOptions = { reuseBuffers, maxFrameLength: 2 * 1024 * 1024 };
        await using conn = new FramedConn(scripted(wireOf(lengths), seed), options);
        const kept: Uint8Array[] = [];
        for (let i = 0; i < lengths.length; i++) {
          const frame = await conn.receive();
          assert.ok(frame !== null, `seed ${seed}: stream ended at frame ${i}`);
          assert.deepEqual(frame, payload(i, lengths[i]), `seed ${seed}: frame ${i}`);
          kept.push(frame);
        }
        assert.equal(await conn.receive(), null);
        if (!reuseBuffers) {
          // by default a frame's memory is never written again: every kept frame is intact
          for (const [i, frame] of kept.entries()) assert.deepEqual(frame, payload(i, lengths[i]));
        }
      }
    },
  });
}

for (const reuseBuffers of [false, true]) {
  Deno.test({
    name: `tcp: reuseBuffers ${reuseBuffers}: ${
      reuseBuffers ? "one read buffer, reused" : "a fresh read buffer once views are out"
    }`,
    async fn() {
      const lengths = Array.from({ length: 50_000 }, (_, i) => 90 + (i % 20));
      await using conn = new FramedConn(scripted(wireOf(lengths), 9), { reuseBuffers });
      const buffers = new Set<ArrayBufferLike>();
      for (let i = 0; i < lengths.length; i++) {
        const frame = (await conn.receive())!;
        if (i >= lengths.length / 2) buffers.add(frame.buffer); // once the buffer has grown
      }
      // 2.5 MB through buffers of at most 1 MiB: fresh ones by default, one when reused
      if (reuseBuffers) assert.equal(buffers.size, 1);
      else assert.ok(buffers.size >= 3, `${buffers.size} buffers`);
    },
  });
}

Deno.test({
  name: "tcp: reuseBuffers: an oversized header is refused before anything is allocated for it",
  permissions: NET,
  async fn() {
    await using listener = listenFramed({
      port: 0,
      reuseBuffers: true,
      maxFrameLength: 1024 * 1024,
    });
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using server = (await listener.accept())!;
    await writeAll(raw, new Uint8Array([0xff, 0xff, 0xff, 0xf0]));
    await assert.rejects(server.receive(), FrameTooLargeError);
    assert.ok(server.closed);
    raw.close();
  },
});

Deno.test({
  name: "tcp: reuseBuffers: a large frame trickled in is still dropped at the frame deadline",
  permissions: NET,
  async fn() {
    await using listener = listenFramed({ port: 0, reuseBuffers: true, frameTimeout: 300 });
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using server = (await listener.accept())!;
    const dripping = (async () => {
      try {
        await writeAll(raw, new Uint8Array([0, 1, 0, 0])); // 65,536 bytes announced
        for (let i = 0; i < 40; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          await writeAll(raw, new Uint8Array(100));
        }
      } catch {
        // dropped by the server: expected
      }
    })();
    const error = await server.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.kind, "frame");
    await dripping;
    raw.close();
  },
});

Deno.test({
  name: "tcp: a large frame's header goes out with its first bytes, not as a write of its own",
  permissions: NET,
  async fn() {
    await using listener = listenFramed({ port: 0, maxFrameLength: 4 * 1024 * 1024 });
    await using client = await connectFramed({
      port: listener.addr.port,
      maxFrameLength: 4 * 1024 * 1024,
    });
    await using server = (await listener.accept())!;
    const sizes: number[] = [];
    const write = client.conn.write.bind(client.conn);
    client.conn.write = (p: Uint8Array) => {
      sizes.push(p.length);
      return write(p);
    };
    const big = payload(5, 3 * 1024 * 1024 + 3);
    const [frame] = await Promise.all([server.receive(), client.send(big)]);
    assert.deepEqual(frame, big);
    assert.ok(sizes[0] > 4, `first write ${sizes[0]} bytes`);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 4 + big.length);
  },
});

Deno.test({
  name: "tcp: an idle connection holds small buffers (no 64 KiB ones up front)",
  permissions: { run: true, read: true },
  async fn() {
    const child = new URL("./tcp_idle_memory_child.ts", import.meta.url).pathname;
    const { code, out, err } = await runDeno([
      "run",
      "--v8-flags=--expose-gc",
      "--allow-net=127.0.0.1",
      child,
    ]);
    assert.equal(code, 0, err);
    const { perConnection } = JSON.parse(out);
    // it was 2 × 64 KiB of batch buffers and a 64 KiB read buffer
    assert.ok(perConnection < 16 * 1024, `${Math.round(perConnection)} bytes per connection`);
  },
});

Deno.test({
  name:
    "tcp: deadlines that share one timer: busy longer than idleTimeout is fine, then idle drops",
  permissions: NET,
  async fn() {
    await using listener = listenFramed({ port: 0, idleTimeout: 500, writeTimeout: 500 });
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using server = (await listener.accept())!;
    // a frame every 40 ms for 800 ms: longer than an idle period, never idle for one
    const sending = (async () => {
      for (let i = 0; i < 20; i++) {
        await writeAll(raw, encodeFrame(new Uint8Array([i])));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(await server.receive(), new Uint8Array([i]));
      await server.send(new Uint8Array([i])); // writes share their own timer the same way
    }
    await sending;
    const error = await server.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.kind, "idle");
    raw.close();
  },
});
