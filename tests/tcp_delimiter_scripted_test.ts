/**
 * Delimiter framing on the transport against scripted connections: exact chunkings (a line
 * trickled one byte a read, a delimiter cut at every point, CRLF split between CR and LF), the
 * memory a hostile peer can make it hold, zero-copy views, and what reaches the wire.
 */
import assert from "node:assert/strict";
import {
  DelimiterInPayloadError,
  FramedConn,
  type FramedConnOptions,
  FrameTooLargeError,
  TimeoutError,
  TruncatedFrameError,
} from "../mod.ts";
import { after, FakeConn, type ReadStep } from "./_fake_conn.ts";
import { Random } from "./_random.ts";

const text = new TextEncoder();
const untext = new TextDecoder();
const str = (b: Uint8Array | null) => b === null ? null : untext.decode(b);
const oneByteReads = (wire: Uint8Array): ReadStep[] => Array.from(wire, (b) => new Uint8Array([b]));

/** Every frame until the end of the stream, as text. */
async function receiveAll(script: ReadStep[], options: FramedConnOptions): Promise<string[]> {
  await using conn = new FramedConn(new FakeConn([...script, null]).conn, options);
  const out: string[] = [];
  for await (const frame of conn) out.push(str(frame)!);
  return out;
}

Deno.test("delimiter scripted: a line trickled one byte a read costs one read buffer and its own bytes", async () => {
  const long = "z".repeat(20_000);
  const wire = text.encode(`${long}\r\nnext\n`);
  const fake = new FakeConn([...oneByteReads(wire), null]);
  await using conn = new FramedConn(fake.conn, { framing: "line", readBufferSize: 65536 });
  assert.equal(str(await conn.receive()), long);
  assert.equal(str(await conn.receive()), "next");
  assert.equal(await conn.receive(), null);
  assert.equal(fake.readTargets.length, wire.length + 1); // one read per byte: the attack happened
  // every read went into the small first buffer or one full-size one: the bytes kept are the
  // frame's own, not a chunk object per read
  const buffers = new Set(fake.readTargets.map((t) => t.buffer));
  assert.ok(buffers.size <= 2, `${buffers.size} read buffers for ${wire.length} reads`);
  const total = [...buffers].reduce((n, b) => n + b.byteLength, 0);
  assert.ok(total <= 4096 + 65536, `${total} bytes of read buffers`);
});

Deno.test("delimiter scripted: an endless line under the discard policy holds nothing and ends at the next delimiter", async () => {
  const steps: ReadStep[] = [text.encode("ok 1\n")];
  for (let i = 0; i < 300; i++) steps.push(new Uint8Array(1000).fill(0x41)); // 300 KB, no LF
  steps.push(text.encode("\nok 2\n"), null);
  const fake = new FakeConn(steps);
  await using conn = new FramedConn(fake.conn, {
    framing: { oversize: "discard" },
    maxFrameLength: 100,
  });
  const got: string[] = [];
  let peak = 0;
  for (let frame; (frame = await conn.receive()) !== null;) {
    got.push(str(frame)!);
    peak = Math.max(peak, conn.bufferedBytes);
  }
  assert.deepEqual(got, ["ok 1", "ok 2"]);
  assert.deepEqual(conn.discarded, { frames: 1, bytes: 300_001 });
  assert.ok(peak <= 100, `${peak} bytes buffered`);
  // the reads went into few buffers (none was kept for the discarded bytes)
  const buffers = new Set(fake.readTargets.map((t) => t.buffer));
  assert.ok(buffers.size <= 3, `${buffers.size} read buffers`);
});

Deno.test("delimiter scripted: an endless line under the error policy fails at the limit, not at the end", async () => {
  let served = 0;
  const endless = (): Promise<ReadStep> => {
    served++;
    return Promise.resolve(served > 10_000 ? null : new Uint8Array(512).fill(0x42));
  };
  const steps: ReadStep[] = [
    text.encode("before\n"),
    ...Array.from({ length: 10_000 }, () => endless),
  ];
  await using conn = new FramedConn(new FakeConn(steps).conn, {
    framing: "lf",
    maxFrameLength: 4000,
  });
  assert.equal(str(await conn.receive()), "before");
  const error = await conn.receive().then(() => undefined, (e) => e);
  assert.ok(error instanceof FrameTooLargeError, String(error));
  assert.ok(served <= 10, `${served} reads of 512 bytes before failing at 4,000`);
  assert.ok(conn.closed);
});

Deno.test("delimiter scripted: a multi-byte delimiter cut at every point between reads", async () => {
  const wire = text.encode("alpha<END>beta<END><END>gamma<E<END>");
  const expected = ["alpha", "beta", "", "gamma<E"];
  const options = { framing: { delimiters: ["<END>"] } };
  for (let cut = 0; cut <= wire.length; cut++) {
    const got = await receiveAll([wire.subarray(0, cut), wire.subarray(cut)], options);
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
  for (let a = 1; a < wire.length; a++) {
    for (let b = a + 1; b < wire.length; b++) {
      const steps = [wire.subarray(0, a), wire.subarray(a, b), wire.subarray(b)];
      assert.deepEqual(await receiveAll(steps, options), expected, `cuts at ${a}, ${b}`);
    }
  }
});

Deno.test("delimiter scripted: CRLF split between CR and LF, under crlf and line", async () => {
  const wire = text.encode("HELO a\r\nMAIL b\r\n");
  const split = wire.indexOf(0x0a); // the first LF: CR ends one read, LF starts the next
  const steps = [wire.subarray(0, split), wire.subarray(split)];
  assert.deepEqual(await receiveAll(steps, { framing: "crlf" }), ["HELO a", "MAIL b"]);
  assert.deepEqual(await receiveAll(steps, { framing: "line" }), ["HELO a", "MAIL b"]);
  // with a pause between the CR and the LF (the line is not handed out early, without its CR)
  const stalled = [wire.subarray(0, split), after(20, wire.subarray(split))];
  assert.deepEqual(await receiveAll(stalled, { framing: "line" }), ["HELO a", "MAIL b"]);
  // under lf the CR is data
  assert.deepEqual(await receiveAll(steps, { framing: "lf" }), ["HELO a\r", "MAIL b\r"]);
  // a lone LF is data under crlf, wherever the reads are cut
  const lone = text.encode("a\nb\r\n");
  for (let cut = 0; cut <= lone.length; cut++) {
    const got = await receiveAll([lone.subarray(0, cut), lone.subarray(cut)], { framing: "crlf" });
    assert.deepEqual(got, ["a\nb"], `cut at ${cut}`);
  }
});

Deno.test("delimiter scripted: seeded random chunkings of many lines give the same lines, kept intact", async () => {
  const random = new Random();
  const lines = Array.from({ length: 2000 }, (_, i) => "x".repeat(random.int(0, 300)) + i);
  const wire = text.encode(lines.map((l) => l + (random.int(0, 1) ? "\r\n" : "\n")).join(""));
  for (const readBufferSize of [1024, 65536]) {
    const steps: ReadStep[] = [];
    for (let at = 0; at < wire.length;) {
      const n = random.int(1, 5000);
      steps.push(wire.subarray(at, at + n));
      at += n;
    }
    const fake = new FakeConn([...steps, null]);
    await using conn = new FramedConn(fake.conn, { framing: "line", readBufferSize });
    const kept: Uint8Array[] = [];
    for await (const frame of conn) kept.push(frame);
    // frames handed out never change when the connection reads on
    assert.deepEqual(kept.map(str), lines, `seed ${random.seed}, buffer ${readBufferSize}`);
  }
});

Deno.test("delimiter scripted: the bytes of an unfinished line are never written over by the next read", async () => {
  // big pieces of an unfinished line are kept as views of the read buffer, not copied: the next
  // read must go elsewhere
  const pieces = [new Uint8Array(4096).fill(0x61), new Uint8Array(9000).fill(0x62)];
  const fake = new FakeConn([...pieces, text.encode("tail\nnext\n"), null]);
  await using conn = new FramedConn(fake.conn, { framing: "lf", readBufferSize: 8192 });
  const frame = (await conn.receive())!;
  assert.equal(frame.length, 4096 + 9000 + 4);
  assert.equal(str(frame), "a".repeat(4096) + "b".repeat(9000) + "tail");
  assert.equal(str(await conn.receive()), "next");
});

Deno.test("delimiter scripted: lines inside one read are views of the read buffer, not copies", async () => {
  const fake = new FakeConn([text.encode("a\nbb\nccc\n"), null]);
  await using conn = new FramedConn(fake.conn, { framing: "lf" });
  const frames = [(await conn.receive())!, (await conn.receive())!, (await conn.receive())!];
  assert.deepEqual(frames.map(str), ["a", "bb", "ccc"]);
  for (const frame of frames) assert.equal(frame.buffer, fake.readTargets[0].buffer);
  assert.deepEqual(frames.map((f) => f.byteOffset), [0, 2, 5]);
});

Deno.test("delimiter scripted: reuseBuffers reads into one buffer again; each line valid until the next receive", async () => {
  const steps = Array.from({ length: 200 }, (_, i) => text.encode(`line ${i}\n`));
  const fake = new FakeConn([...steps, null]);
  await using conn = new FramedConn(fake.conn, { framing: "lf", reuseBuffers: true });
  let i = 0;
  for await (const frame of conn) assert.equal(str(frame), `line ${i++}`);
  assert.equal(i, 200);
  assert.equal(new Set(fake.readTargets.map((t) => t.buffer)).size, 1);
});

Deno.test("delimiter scripted: the stream ending inside a line is a TruncatedFrameError, or a last line", async () => {
  const steps = [text.encode("whole\nhalf")];
  await using strict = new FramedConn(new FakeConn([...steps, null]).conn, { framing: "lf" });
  assert.equal(str(await strict.receive()), "whole");
  const error = await strict.receive().then(() => undefined, (e) => e);
  assert.ok(error instanceof TruncatedFrameError, String(error));
  assert.equal(error.received, 4);
  // a reset inside the line is its cause
  const reset = new Deno.errors.ConnectionReset("reset by peer");
  await using cut = new FramedConn(new FakeConn([...steps, reset]).conn, { framing: "lf" });
  await cut.receive();
  const cutError = await cut.receive().then(() => undefined, (e) => e);
  assert.ok(cutError instanceof TruncatedFrameError && cutError.cause === reset, String(cutError));

  const lenient = await receiveAll(steps, { framing: { unterminated: "frame" } });
  assert.deepEqual(lenient, ["whole", "half"]);
});

Deno.test("delimiter scripted: the frame deadline runs from a line's first byte, across reads", async () => {
  // a byte every 30 ms keeps the idle deadline (100 ms) happy; the line must end within 120 ms
  const slow = Array.from(text.encode("slowloris"), (b) => after(30, new Uint8Array([b])));
  const fake = new FakeConn([text.encode("fast\n"), ...slow]);
  await using conn = new FramedConn(fake.conn, {
    framing: "line",
    idleTimeout: 100,
    frameTimeout: 120,
  });
  assert.equal(str(await conn.receive()), "fast");
  const error = await conn.receive().then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.kind, "frame");
  assert.ok(fake.closed);
});

Deno.test("delimiter scripted: send writes payload + delimiter, batched; a bad payload writes nothing", async () => {
  const fake = new FakeConn();
  await using conn = new FramedConn(fake.conn, { framing: "crlf", maxFrameLength: 2_000_000 });
  const sent = [conn.send(text.encode("PING")), conn.send(text.encode("ECHO a\nb"))]; // lone LF: data
  await assert.rejects(conn.send(text.encode("x\r\ny")), DelimiterInPayloadError);
  await assert.rejects(conn.send(new Uint8Array(2_000_001)), FrameTooLargeError);
  await Promise.all(sent);
  await conn.flush();
  assert.equal(untext.decode(fake.bytes()), "PING\r\nECHO a\nb\r\n");
  assert.equal(fake.written.length, 1, "two lines sent in one tick: one write");
  // a large payload goes out without a copy; its last bytes and the delimiter in one write
  const big = new Uint8Array(1_500_000).fill(0x61);
  await conn.send(big);
  const wire = fake.bytes().subarray(16);
  assert.equal(wire.length, big.length + 2);
  assert.deepEqual(wire.subarray(big.length), text.encode("\r\n"));
  assert.ok(wire.subarray(0, big.length).every((b) => b === 0x61));
  assert.ok(fake.written.at(-1)!.length > 2, "the delimiter did not go out alone");
});
