import assert from "node:assert/strict";
import {
  connectFramed,
  connectionErrorKind,
  FramedConn,
  type FramedConnOptions,
  type FramedListener,
  listenFramed,
  TimeoutError,
  writeAll,
} from "../tcp/mod.ts";
import {
  encodeEnvelopeHeader,
  encodeFrame,
  equalBytes,
  FrameTooLargeError,
  TruncatedFrameError,
} from "../framing/mod.ts";

const NET = { net: ["127.0.0.1", "[::1]"] };
const text = new TextEncoder();
const untext = new TextDecoder();

type Kind = "tcp" | "tcp6";

/** A listener on loopback (IPv4 or IPv6) and a way to connect to it. */
function open(kind: Kind, options: FramedConnOptions = {}): {
  listener: FramedListener<Deno.NetAddr>;
  port: number;
  connect: (extra?: FramedConnOptions) => Promise<FramedConn>;
  [Symbol.asyncDispose](): Promise<void>;
} {
  const hostname = kind === "tcp" ? "127.0.0.1" : "::1";
  const listener = listenFramed({ hostname, port: 0, ...options });
  const port = listener.addr.port;
  return {
    listener,
    port,
    connect: (extra = {}) => connectFramed({ hostname, port, ...options, ...extra }),
    [Symbol.asyncDispose]: () => listener[Symbol.asyncDispose](),
  };
}

/** Counts the calls to `write` on a connection (to see batching and partial writes). */
function countWrites(conn: Deno.Conn): { calls: number; sizes: number[] } {
  const stats = { calls: 0, sizes: [] as number[] };
  const write = conn.write.bind(conn);
  conn.write = (p: Uint8Array) => {
    stats.calls++;
    stats.sizes.push(p.length);
    return write(p);
  };
  return stats;
}

for (const kind of ["tcp", "tcp6"] as const) {
  Deno.test({
    name: `tcp/${kind}: frames of every size class arrive exactly as sent, then a clean null`,
    permissions: NET,
    async fn() {
      await using env = open(kind);
      await using client = await env.connect();
      await using server = (await env.listener.accept())!;
      const sizes = [0, 1, 2, 100, 4095, 65535, 65536, 65537, 300_000, 0, 7];
      const payloads = sizes.map((n, i) => {
        const p = new Uint8Array(n);
        for (let j = 0; j < n; j++) p[j] = (i * 31 + j) & 255;
        return p;
      });
      // not awaited one by one: all in one tick, so they are batched and the large ones interleave
      const sending = Promise.all(payloads.map((p) => client.send(p)));
      for (const expected of payloads) {
        const got = await server.receive();
        assert.ok(got !== null);
        assert.ok(equalBytes(got, expected), `frame of ${expected.length} bytes differs`);
      }
      await sending;
      await client.closeWrite();
      assert.equal(await server.receive(), null);
      // half-closed: the other direction still works
      await server.send(text.encode("after EOF"));
      assert.equal(untext.decode((await client.receive())!), "after EOF");
      const local = client.localAddr as Deno.NetAddr;
      const remote = server.remoteAddr as Deno.NetAddr;
      assert.equal(local.port, remote.port);
      assert.equal(remote.hostname, kind === "tcp" ? "127.0.0.1" : "::1");
    },
  });
}

Deno.test({
  name: "tcp: frames sent in one tick go out in one write (flush consolidation)",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    await using client = await env.connect();
    await using server = (await env.listener.accept())!;
    const stats = countWrites(client.conn);
    const sends = [];
    for (let i = 0; i < 1000; i++) sends.push(client.send(text.encode(`m${i}`)));
    await Promise.all(sends);
    await client.flush();
    assert.equal(stats.calls, 1, `expected one write, got ${stats.calls}: ${stats.sizes}`);
    for (let i = 0; i < 1000; i++) assert.equal(untext.decode((await server.receive())!), `m${i}`);
  },
});

Deno.test({
  name: "tcp: `await send` in a loop is batched while a write is in flight",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    await using client = await env.connect();
    await using server = (await env.listener.accept())!;
    const stats = countWrites(client.conn);
    const message = new Uint8Array(32);
    const receiving = (async () => {
      let n = 0;
      for await (const frame of server) {
        assert.equal(frame.length, 32);
        if (++n === 20_000) return n;
      }
      return n;
    })();
    for (let i = 0; i < 20_000; i++) await client.send(message);
    await client.flush();
    assert.equal(await receiving, 20_000);
    assert.ok(stats.calls < 200, `20,000 awaited sends took ${stats.calls} writes`);
  },
});

Deno.test({
  name: "tcp: send waits above the high-water mark until the peer reads (bounded memory)",
  permissions: NET,
  async fn() {
    await using env = open("tcp", { highWaterMark: 64 * 1024 });
    await using client = await env.connect();
    await using server = (await env.listener.accept())!;
    const chunk = new Uint8Array(1000);
    let sent = 0;
    let maxQueued = 0;
    let blocked = false;
    // nobody reads: the kernel buffers fill, then the queue, then send must wait
    for (let i = 0; i < 100_000; i++) {
      const p = client.send(chunk);
      maxQueued = Math.max(maxQueued, client.queuedBytes);
      const state = await Promise.race([p.then(() => "done"), delay(50).then(() => "pending")]);
      if (state === "pending") {
        blocked = true;
        break;
      }
      sent++;
    }
    assert.ok(blocked, "send never waited");
    assert.ok(maxQueued <= 64 * 1024 + 1004, `queue grew to ${maxQueued} bytes`);
    // now read everything: the blocked send completes and every frame arrives in order
    let received = 0;
    const total = sent + 1;
    const reading = (async () => {
      for await (const frame of server) {
        assert.equal(frame.length, 1000);
        if (++received === total) return;
      }
    })();
    await client.flush();
    await reading;
    assert.equal(received, total);
  },
});

Deno.test({
  name: "tcp: a 64 MiB frame to a slow reader arrives whole through partial writes",
  permissions: NET,
  async fn() {
    const size = 64 * 1024 * 1024;
    await using env = open("tcp", { maxFrameLength: size });
    await using client = await env.connect();
    const serverConn = await env.listener.listener.accept();
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) payload[i] = (i >>> 12) & 255;
    payload[size - 1] = 0xab;
    const sending = client.send(payload);
    // the slow reader: small reads with pauses, raw, then decoded by a FramedConn around the rest
    const slow = new Uint8Array(1 << 20);
    let pre = 0;
    const first: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) {
      const n = await serverConn.read(slow.subarray(0, 4096));
      assert.ok(n !== null);
      first.push(slow.slice(0, n));
      pre += n;
      await delay(20);
    }
    let got = 0;
    const head = new Uint8Array(first.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of first) head.set(c, at), at += c.length;
    assert.deepEqual([...head.subarray(0, 4)], [4, 0, 0, 0]); // 64 MiB = 0x04000000
    const body = new Uint8Array(size);
    body.set(head.subarray(4));
    got = head.length - 4;
    while (got < size) {
      const n = await serverConn.read(slow);
      assert.ok(n !== null);
      body.set(slow.subarray(0, n), got);
      got += n;
    }
    await sending;
    assert.ok(pre > 0);
    assert.ok(equalBytes(body, payload), "the 64 MiB frame differs");
    serverConn.close();
  },
});

Deno.test({
  name: "tcp: frames and envelopes mix on one connection, in the order sent",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    await using client = await env.connect();
    await using server = (await env.listener.accept())!;
    const bodyChunks = [new Uint8Array(70_000).fill(1), new Uint8Array(5).fill(2)];
    // none awaited before the next: order must still be frame, envelope, frame
    const a = client.send(text.encode("before"));
    const e = client.sendEnvelope({ name: "f.bin" }, ReadableStream.from(bodyChunks), 70_005);
    const b = client.send(text.encode("after"));
    await Promise.all([a, e, b]);
    assert.equal(untext.decode((await server.receive())!), "before");
    const envelope = await server.receiveEnvelope();
    assert.ok(envelope !== null);
    assert.deepEqual(envelope.header, { name: "f.bin", size: 70_005 });
    const body = new Uint8Array(await new Response(envelope.body).arrayBuffer());
    assert.equal(body.length, 70_005);
    assert.equal(body[69_999], 1);
    assert.equal(body[70_000], 2);
    assert.equal(untext.decode((await server.receive())!), "after");
  },
});

Deno.test({
  name: "tcp: an envelope whose body is shorter than declared aborts the connection",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    await using client = await env.connect();
    await using server = (await env.listener.accept())!;
    await assert.rejects(
      client.sendEnvelope({ name: "x" }, ReadableStream.from([new Uint8Array(3)]), 10),
      RangeError,
    );
    assert.ok(client.closed);
    await assert.rejects(client.send(new Uint8Array(1)));
    const envelope = await server.receiveEnvelope();
    assert.ok(envelope !== null);
    await assert.rejects(new Response(envelope.body).arrayBuffer(), TruncatedFrameError);
  },
});

Deno.test({
  name: "tcp: an oversized declared length closes the connection with FrameTooLargeError",
  permissions: NET,
  async fn() {
    await using env = open("tcp", { maxFrameLength: 1024 });
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
    await using server = (await env.listener.accept())!;
    // declares 4 GiB - 1 and sends nothing else: the decoder must refuse at the header
    await writeAll(raw, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const before = Deno.memoryUsage().rss;
    const error = await server.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof FrameTooLargeError, String(error));
    assert.equal(error.declared, 2 ** 32 - 1);
    assert.equal(error.limit, 1024);
    assert.equal(connectionErrorKind(error), "too-large");
    assert.ok(Deno.memoryUsage().rss - before < 64 * 1024 * 1024, "memory grew");
    assert.ok(server.closed);
    // the peer sees the connection closed
    const n = await raw.read(new Uint8Array(16)).catch(() => null);
    assert.equal(n, null);
    // and the same error again on the next receive
    await assert.rejects(server.receive(), FrameTooLargeError);
    raw.close();
  },
});

Deno.test({
  name: "tcp: an HTTP request to a framed server gives an error that names HTTP",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
    await using server = (await env.listener.accept())!;
    await writeAll(raw, text.encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const error = await server.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof FrameTooLargeError, String(error));
    assert.equal(error.protocol, "HTTP");
    assert.match(error.message, /HTTP/);
    raw.close();
  },
});

Deno.test({
  name: "tcp: a payload over maxFrameLength is refused and the connection stays usable",
  permissions: NET,
  async fn() {
    await using env = open("tcp", { maxFrameLength: 100 });
    await using client = await env.connect();
    await using server = (await env.listener.accept())!;
    await assert.rejects(client.send(new Uint8Array(101)), FrameTooLargeError);
    await assert.rejects(client.send("text" as unknown as Uint8Array), TypeError);
    await client.send(new Uint8Array(100));
    assert.equal((await server.receive())?.length, 100);
  },
});

Deno.test({
  name: "tcp: a peer that dies mid-frame gives TruncatedFrameError (closed, then reset)",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    // 1. clean close after half a frame
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      await writeAll(raw, encodeFrame(new Uint8Array(100)).subarray(0, 50));
      raw.close();
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TruncatedFrameError, String(error));
      assert.equal(error.part, "body");
      assert.equal(error.expected, 104);
      assert.equal(error.received, 50);
    }
    // 2. reset: the peer closes with unread data in its receive buffer, so its kernel sends RST.
    // Deno 2.9 reports a reset on read as the end of the stream (measured), so this is a
    // truncated frame too; the reset itself shows on the next write, as BrokenPipe.
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      const rawServer = await env.listener.listener.accept();
      await using server = new FramedConn(rawServer);
      await server.send(new Uint8Array(1000)); // never read by raw
      await server.flush();
      await delay(20);
      await writeAll(raw, encodeFrame(new Uint8Array(100)).subarray(0, 50));
      await delay(20);
      raw.close();
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TruncatedFrameError, String(error));
      assert.equal(error.received, 50);
      assert.equal(connectionErrorKind(error), "truncated");
    }
    // 3. a reset between frames: receive ends, and the next write fails as a disconnect
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      await server.send(new Uint8Array(1000)); // never read by raw: its close sends RST
      await server.flush();
      await delay(20);
      raw.close();
      await delay(20);
      assert.equal(await server.receive(), null);
      let error: unknown;
      for (let i = 0; i < 50 && error === undefined; i++) {
        await server.send(new Uint8Array(1000)).then(() => server.flush()).catch((e) => error = e);
      }
      assert.equal(connectionErrorKind(error), "broken-pipe", String(error));
    }
  },
});

Deno.test({
  name: "tcp: a slowloris peer is dropped at the frame deadline, an idle one at the idle timeout",
  permissions: NET,
  async fn() {
    await using env = open("tcp", { frameTimeout: 300, idleTimeout: 600 });
    // slowloris: a header, then one byte every 50 ms — never idle, never finishing the frame
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      const dripping = (async () => {
        try {
          await writeAll(raw, new Uint8Array([0, 0, 0, 100]));
          for (let i = 0; i < 40; i++) {
            await delay(50);
            await writeAll(raw, new Uint8Array([i]));
          }
        } catch {
          // dropped by the server: expected
        }
      })();
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.kind, "frame");
      assert.equal(connectionErrorKind(error), "timeout");
      assert.ok(server.closed);
      await dripping;
      raw.close();
    }
    // idle: connects, sends one whole frame, then nothing
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      await writeAll(raw, encodeFrame(new Uint8Array([1])));
      assert.deepEqual(await server.receive(), new Uint8Array([1]));
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.kind, "idle");
      assert.equal(await raw.read(new Uint8Array(1)).catch(() => null), null);
      raw.close();
    }
  },
});

Deno.test({
  name: "tcp: connect is refused (and told apart), times out on a full backlog, or is aborted",
  permissions: NET,
  async fn() {
    const gone = listenFramed({ port: 0 });
    const port = gone.addr.port;
    gone.close();
    const refused = await connectFramed({ port }).then(() => undefined, (e) => e);
    assert.ok(refused instanceof Deno.errors.ConnectionRefused);
    assert.equal(connectionErrorKind(refused), "refused");

    // a listener that never accepts: once its backlog is full, the kernel drops SYNs
    await using env = open("tcp");
    const filler: Deno.Conn[] = [];
    let timedOut: unknown;
    try {
      for (let i = 0; i < 2000 && timedOut === undefined; i++) {
        try {
          const c = await connectFramed({ port: env.port, connectTimeout: 250 });
          filler.push(c.conn);
        } catch (error) {
          timedOut = error;
        }
      }
    } finally {
      for (const c of filler) c.close();
    }
    assert.ok(timedOut instanceof TimeoutError, String(timedOut));
    assert.equal(timedOut.kind, "connect");

    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await assert.rejects(
      connectFramed({ port: env.port, signal: controller.signal }),
      /stop/,
    );
  },
});

Deno.test({
  name: "tcp: an AbortSignal closes the connection and rejects the pending receive",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    const controller = new AbortController();
    await using client = await env.connect({ signal: controller.signal });
    await using _server = (await env.listener.accept())!;
    const pending = client.receive();
    setTimeout(() => controller.abort(new Error("user gave up")), 20);
    await assert.rejects(pending, /user gave up/);
    assert.ok(client.closed);
    await assert.rejects(client.send(new Uint8Array(1)), /user gave up/);
  },
});

Deno.test({
  name: "tcp: close() writes queued frames first; receive after close is BadResource",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    const client = await env.connect();
    await using server = (await env.listener.accept())!;
    for (let i = 0; i < 100; i++) void client.send(text.encode(String(i)));
    await client.close();
    await assert.rejects(client.receive(), Deno.errors.BadResource);
    await assert.rejects(client.send(new Uint8Array(1)), Deno.errors.BadResource);
    let n = 0;
    for await (const frame of server) assert.equal(untext.decode(frame), String(n++));
    assert.equal(n, 100);
    await client.close(); // twice is fine
  },
});

Deno.test({
  name: "tcp: a write to a vanished peer rejects later sends with a disconnect error",
  permissions: NET,
  async fn() {
    await using env = open("tcp");
    await using client = await env.connect();
    const server = (await env.listener.accept())!;
    server.abort();
    let error: unknown;
    for (let i = 0; i < 200 && error === undefined; i++) {
      try {
        await client.send(new Uint8Array(70_000));
      } catch (e) {
        error = e;
      }
    }
    assert.ok(
      ["broken-pipe", "reset"].includes(connectionErrorKind(error)),
      `got ${String(error)}`,
    );
    await assert.rejects(client.flush());
  },
});

Deno.test({
  name: "tcp: framing options pass through (the tutorial's i32le layout)",
  permissions: NET,
  async fn() {
    await using env = open("tcp", { lengthFormat: "i32le" });
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
    await using server = (await env.listener.accept())!;
    // Python: sock.sendall(struct.pack('i', len(b)) + b)
    await writeAll(raw, new Uint8Array([3, 0, 0, 0, 0x61, 0x62, 0x63]));
    assert.equal(untext.decode((await server.receive())!), "abc");
    const python = { lengthFormat: "i32le", sizeField: "filesize" } as const;
    await server.sendEnvelope({ filename: "a" }, text.encode("hi"), undefined, python);
    await server.flush();
    const expected = encodeEnvelopeHeader({ filename: "a" }, 2, python);
    const got = new Uint8Array(expected.length + 2);
    let n = 0;
    while (n < got.length) n += (await raw.read(got.subarray(n)))!;
    assert.deepEqual(got.subarray(0, expected.length), expected);
    assert.equal(untext.decode(got.subarray(expected.length)), "hi");
    raw.close();
  },
});

Deno.test({
  name: "tcp: bad options throw TypeError or RangeError before any socket is made",
  permissions: NET,
  async fn() {
    assert.throws(() => listenFramed({ port: 0, lengthFormat: "u7" as never }), TypeError);
    assert.throws(() => listenFramed({ port: 70000 }), RangeError);
    assert.throws(() => listenFramed({ path: "/tmp/x.sock" }), TypeError);
    await assert.rejects(connectFramed({ port: 1, idleTimeout: -5 }), RangeError);
    await assert.rejects(connectFramed({ port: 1, frameTimeout: "1" as never }), TypeError);
    await assert.rejects(connectFramed({ transport: "unix" }), TypeError);
    await assert.rejects(connectFramed({ port: 1, highWaterMark: -1 }), RangeError);
  },
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name:
    "tcp: a large frame's body is read straight into its own buffer: whole, truncated, or timed out",
  permissions: NET,
  async fn() {
    await using env = open("tcp", { frameTimeout: 400 });
    const payload = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 131) & 0xff;
    const wire = encodeFrame(payload);
    // whole: written in uneven pieces, with a small frame after it on the same connection
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      const reads = countReads(server.conn);
      const writing = (async () => {
        for (let at = 0; at < wire.length; at += 100_003) {
          await writeAll(raw, wire.subarray(at, at + 100_003));
        }
        await writeAll(raw, encodeFrame(text.encode("next")));
      })();
      const got = await server.receive();
      assert.ok(got !== null && equalBytes(got, payload));
      assert.ok(
        reads.targets.some((t) => t.buffer.byteLength === payload.length),
        "some read went straight into the frame's buffer",
      );
      assert.equal(untext.decode((await server.receive())!), "next");
      await writing;
      raw.close();
    }
    // truncated: the peer stops 1 MiB into the body
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      await writeAll(raw, wire.subarray(0, 4 + 1024 * 1024));
      raw.close();
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TruncatedFrameError, String(error));
      assert.equal(error.expected, wire.length);
      assert.equal(error.received, 4 + 1024 * 1024);
      assert.ok(server.closed);
    }
    // stalled: the frame deadline still applies while reading directly
    {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: env.port });
      await using server = (await env.listener.accept())!;
      await writeAll(raw, wire.subarray(0, 4 + 200_000));
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.kind, "frame");
      raw.close();
    }
  },
});

/** Records the buffers passed to `read` on a connection. */
function countReads(conn: Deno.Conn): { targets: Uint8Array[] } {
  const stats = { targets: [] as Uint8Array[] };
  const read = conn.read.bind(conn);
  conn.read = (p: Uint8Array) => {
    stats.targets.push(p);
    return read(p);
  };
  return stats;
}
