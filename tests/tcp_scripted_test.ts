/**
 * The transport's logic against scripted connections: exact chunkings, partial writes, stalls.
 * No sockets, no kernel buffers, no wall-clock windows.
 */
import assert from "node:assert/strict";
import { connectionErrorKind, FramedConn, TimeoutError } from "../tcp/mod.ts";
import { encodeFrame, encodeFrames, FrameDecoder, TruncatedFrameError } from "../framing/mod.ts";
import { after, FakeConn, type ReadStep } from "./_fake_conn.ts";

const bytes = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);
const oneByteReads = (wire: Uint8Array): ReadStep[] => Array.from(wire, (b) => new Uint8Array([b]));

Deno.test("budget: a 64 KiB frame trickled one byte per read costs one read buffer + its own length", async () => {
  const payload = bytes(65536);
  const fake = new FakeConn(oneByteReads(encodeFrame(payload)));
  await using conn = new FramedConn(fake.conn, { readBufferSize: 65536 });
  const got = await conn.receive();
  assert.deepEqual(got, payload);
  assert.equal(fake.readTargets.length, 65540); // one read per byte: the attack happened
  // every read went into one of at most two buffers: the read buffer and the frame's own
  const buffers = new Set(fake.readTargets.map((t) => t.buffer));
  assert.ok(buffers.size <= 2, `${buffers.size} distinct buffers for 65,540 reads`);
  const total = [...buffers].reduce((n, b) => n + b.byteLength, 0);
  assert.ok(total <= 65536 + 65536, `${total} bytes of read memory`);
});

Deno.test("budget: a 16 KiB frame trickled one byte per read reuses one read buffer", async () => {
  const frames = [bytes(16_000, 1), bytes(16_000, 2), bytes(16_000, 3)];
  const fake = new FakeConn(oneByteReads(encodeFrames(frames)));
  await using conn = new FramedConn(fake.conn, { readBufferSize: 65536 });
  let peak = 0;
  for (const expected of frames) {
    const reading = conn.receive();
    assert.deepEqual(await reading, expected);
    peak = Math.max(peak, conn.bufferedBytes);
  }
  const buffers = new Set(fake.readTargets.map((t) => t.buffer));
  // frames handed out pin their buffer, so at most one fresh buffer per ~48 KiB handed out
  assert.ok(
    buffers.size <= 2,
    `${buffers.size} distinct buffers for ${fake.readTargets.length} reads`,
  );
});

Deno.test("budget: bytes buffered for an unfinished frame never exceed its length + one read buffer", async () => {
  // a peer that sends headers of frames of every size, each trickled in 7-byte reads
  const sizes = [0, 1, 100, 16_383, 16_384, 40_000, 70_000, 300_000];
  const wire = encodeFrames(sizes.map((n) => bytes(n)));
  const steps: ReadStep[] = [];
  for (let at = 0; at < wire.length; at += 7) steps.push(wire.subarray(at, at + 7));
  const fake = new FakeConn(steps);
  await using conn = new FramedConn(fake.conn, { readBufferSize: 4096 });
  for (const n of sizes) {
    const frame = await conn.receive();
    assert.equal(frame?.length, n);
    assert.ok(conn.bufferedBytes <= 4096, `${conn.bufferedBytes} bytes buffered`);
  }
  for (const target of fake.readTargets) {
    assert.ok(
      target.buffer.byteLength <= 4096 * 16 || sizes.includes(target.buffer.byteLength),
      `read into a ${target.buffer.byteLength}-byte buffer`,
    );
  }
});

Deno.test("frames handed out never change when the connection reads on", async () => {
  // many small frames in reads of every size: every frame kept must keep its bytes
  const frames = Array.from({ length: 3000 }, (_, i) => bytes(1 + (i * 37) % 700, i));
  const wire = encodeFrames(frames);
  const steps: ReadStep[] = [];
  for (let at = 0, cut = 1; at < wire.length; at += cut, cut = (cut * 7 + 3) % 5000 + 1) {
    steps.push(wire.subarray(at, at + cut));
  }
  await using conn = new FramedConn(new FakeConn([...steps, null]).conn, { readBufferSize: 1024 });
  const kept: Uint8Array[] = [];
  for await (const frame of conn) kept.push(frame);
  assert.equal(kept.length, frames.length);
  for (let i = 0; i < frames.length; i++) assert.deepEqual(kept[i], frames[i], `frame ${i}`);
});

Deno.test("frame deadline: a peer dripping a byte every 20 ms is dropped although never idle", async () => {
  const wire = encodeFrame(bytes(100));
  const drip: ReadStep[] = [wire.subarray(0, 4)];
  for (let i = 4; i < wire.length; i++) drip.push(after(20, wire.subarray(i, i + 1)));
  const fake = new FakeConn(drip);
  await using conn = new FramedConn(fake.conn, { frameTimeout: 150, idleTimeout: 1000 });
  const error = await conn.receive().then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.kind, "frame");
  assert.equal(error.timeout, 150);
  assert.equal(connectionErrorKind(error), "timeout");
  assert.ok(conn.closed && fake.closed);
  // the deadline ran from the frame's first byte: it fired long before the 100 bytes were in
  assert.ok(fake.readTargets.length < 60, `${fake.readTargets.length} reads before the drop`);
  await assert.rejects(conn.receive(), TimeoutError); // and it stays failed
});

Deno.test("idle deadline: no byte for idleTimeout between frames", async () => {
  const fake = new FakeConn([encodeFrame(bytes(3))]);
  await using conn = new FramedConn(fake.conn, { idleTimeout: 50, frameTimeout: 10_000 });
  assert.deepEqual(await conn.receive(), bytes(3));
  const error = await conn.receive().then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError && error.kind === "idle", String(error));
  assert.ok(fake.closed);
});

Deno.test("the end of the stream inside a frame is a TruncatedFrameError that says where", async () => {
  const wire = encodeFrame(bytes(100));
  for (const [cut, part] of [[2, "header"], [50, "body"]] as const) {
    await using conn = new FramedConn(new FakeConn([wire.subarray(0, cut), null]).conn);
    const error = await conn.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof TruncatedFrameError, String(error));
    assert.equal(error.part, part);
    assert.equal(error.received, cut);
  }
});

Deno.test("partial writes: every frame, large payload and envelope arrives whole and in order", async () => {
  // the kernel takes at most 1,000 bytes per write, sometimes fewer
  let call = 0;
  const fake = new FakeConn([], (p) => Math.min(p.length, 1 + (call++ * 389) % 1000));
  await using conn = new FramedConn(fake.conn, { maxFrameLength: 4 << 20 });
  const small = Array.from({ length: 200 }, (_, i) => bytes(i * 13, i));
  const large = bytes(2 << 20, 9); // ≥ 1 MiB: written after its header, not copied
  const sends = small.slice(0, 100).map((p) => conn.send(p));
  sends.push(conn.send(large));
  sends.push(conn.sendEnvelope({ name: "e" }, ReadableStream.from([bytes(5000), bytes(7)]), 5007));
  sends.push(...small.slice(100).map((p) => conn.send(p)));
  await Promise.all(sends);
  await conn.flush();
  assert.ok(fake.written.every((w) => w.length <= 1000));
  const wire = fake.bytes();
  const decoder = new FrameDecoder({ maxFrameLength: 4 << 20 });
  decoder.feed(wire);
  for (const p of small.slice(0, 100)) assert.deepEqual(decoder.next(), p);
  assert.deepEqual(decoder.next(), large);
  const [rest] = decoder.takeBuffered();
  const reader = new FramedConn(new FakeConn([rest, null]).conn);
  const envelope = await reader.receiveEnvelope();
  assert.deepEqual(envelope?.header, { name: "e", size: 5007 });
  assert.equal((await new Response(envelope!.body).arrayBuffer()).byteLength, 5007);
  for (const p of small.slice(100)) assert.deepEqual(await reader.receive(), p);
  assert.equal(await reader.receive(), null);
});

Deno.test("write deadline: a peer that takes no bytes is dropped, the waiting send rejects", async () => {
  const stalled = new FakeConn([], () => new Promise<number>(() => {}));
  await using conn = new FramedConn(stalled.conn, { writeTimeout: 50, highWaterMark: 1000 });
  await conn.send(bytes(500)); // queued; the write of it never progresses
  const waiting = conn.send(bytes(2000)); // over the high-water mark: waits for the drain
  const error = await waiting.then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.kind, "write");
  assert.ok(conn.closed && stalled.closed);
  await assert.rejects(conn.flush(), TimeoutError);
  await assert.rejects(conn.send(bytes(1)), TimeoutError);
});

Deno.test("write deadline: a slow reader that keeps taking bytes is not dropped", async () => {
  const slow = new FakeConn(
    [],
    (p) => new Promise((r) => setTimeout(() => r(Math.min(p.length, 4096)), 5)),
  );
  await using conn = new FramedConn(slow.conn, { writeTimeout: 100 });
  await conn.send(bytes(100_000));
  await conn.flush(); // 25 writes × 5 ms: far over 100 ms in total, never 100 ms without progress
  assert.equal(slow.bytes().length, 100_004);
  assert.equal(conn.closed, false);
});

Deno.test("three concurrent receive() calls: the extra ones fail at once, the first gets the frame", async () => {
  const fake = new FakeConn();
  await using conn = new FramedConn(fake.conn);
  const first = conn.receive();
  const second = conn.receive();
  const third = conn.receive();
  await assert.rejects(second, TypeError);
  await assert.rejects(third, /already waiting/);
  fake.push(encodeFrame(bytes(4)));
  assert.deepEqual(await first, bytes(4));
  fake.push(encodeFrame(bytes(5)));
  assert.deepEqual(await conn.receive(), bytes(5)); // usable again once the first is done
});

Deno.test("close while a receive waits: Interrupted; a receive after: BadResource; for await ends", async () => {
  const fake = new FakeConn();
  const conn = new FramedConn(fake.conn);
  const waiting = conn.receive();
  await conn.close();
  await assert.rejects(waiting, Deno.errors.Interrupted);
  await assert.rejects(conn.receive(), Deno.errors.BadResource);
  for await (const _ of conn) assert.fail("no frame after close");
  await conn.close(); // twice is fine
  const aborted = new FramedConn(new FakeConn().conn);
  const pending = aborted.receive();
  aborted.abort(new Error("gave up"));
  await assert.rejects(pending, /gave up/);
});
