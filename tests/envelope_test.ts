import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  concatBytes,
  CorruptFrameError,
  encodeEnvelopeHeader,
  encodeFrame,
  ENVELOPE_PRESETS,
  envelopeChunks,
  FrameReader,
  FrameTooLargeError,
  TruncatedFrameError,
  writeEnvelope,
} from "../framing/mod.ts";
import { Random } from "./_random.ts";

const text = (s: string) => new TextEncoder().encode(s);

function readerOf(bytes: Uint8Array, chunk = 7): FrameReader {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  return new FrameReader(ReadableStream.from(chunks));
}

Deno.test({
  name: "envelope: a 256 MiB streamed body arrives whole (SHA-256) with memory bounded",
  permissions: "none",
}, async () => {
  const total = 256 * 1024 * 1024;
  const chunkSize = 64 * 1024;
  const random = new Random(42);
  const block = random.bytes(chunkSize);
  const sent = createHash("sha256");
  let produced = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced === total) return controller.close();
      const chunk = block.slice();
      chunk[0] = produced / chunkSize; // every chunk differs
      chunk[1] = (produced / chunkSize) >>> 8;
      sent.update(chunk);
      produced += chunk.length;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const writing = (async () => {
    await writeEnvelope(pipe.writable, { name: "big.bin" }, body, total);
    await pipe.writable.close();
  })();
  const reader = new FrameReader(pipe.readable);
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  const envelope = await reader.readEnvelope();
  assert.ok(envelope);
  assert.equal(envelope.bodyLength, total);
  assert.deepEqual(envelope.header, { name: "big.bin", size: total });
  const received = createHash("sha256");
  let count = 0;
  let n = 0;
  for await (const chunk of envelope.body) {
    received.update(chunk);
    count += chunk.length;
    if (++n % 256 === 0) rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  }
  await writing;
  assert.equal(count, total);
  assert.equal(received.digest("hex"), sent.digest("hex"));
  assert.equal(await reader.readEnvelope(), null);
  const growth = rssPeak - rssBefore;
  console.log(`RSS grew by ${(growth / 1048576).toFixed(1)} MiB while streaming 256 MiB`);
  assert.ok(growth < 96 * 1024 * 1024, `RSS grew by ${growth} bytes`);
});

Deno.test(
  { name: "envelope: cancel skips the rest of the body", permissions: "none" },
  async () => {
    const wire = concatBytes([
      encodeEnvelopeHeader({ n: 1 }, 10_000),
      new Uint8Array(10_000).fill(1),
      encodeEnvelopeHeader({ n: 2 }, 3),
      text("abc"),
      encodeFrame(text("after")),
    ]);
    for (const chunk of [1, 5, 100, 4096, wire.length]) {
      const reader = readerOf(wire, chunk);
      const first = await reader.readEnvelope();
      assert.equal(first?.header.n, 1);
      // Read a little, then give up on the rest.
      const bodyReader = first!.body.getReader();
      const { value } = await bodyReader.read();
      if (value!.length < 10_000) {
        await assert.rejects(reader.readEnvelope(), TypeError, "the body must be consumed first");
        await assert.rejects(reader.readFrame(), TypeError);
      }
      await bodyReader.cancel();
      const second = await reader.readEnvelope();
      assert.deepEqual(second?.header, { n: 2, size: 3 });
      assert.equal(await new Response(second!.body).text(), "abc");
      assert.deepEqual(await reader.readFrame(), text("after"));
      assert.equal(await reader.readFrame(), null);
    }
  },
);

Deno.test({
  name: "envelope: the tutorial's layout (i32le + filename/filesize)",
  permissions: "none",
}, async () => {
  // What the tutorial's Python server sends: struct.pack('i', len(json)) + json + bytes.
  const json = text(JSON.stringify({ filename: "三体.txt", filesize: 5 }));
  const wire = concatBytes([
    new Uint8Array([json.length, 0, 0, 0]),
    json,
    text("hello"),
  ]);
  const reader = readerOf(wire, 3);
  const envelope = await reader.readEnvelope(ENVELOPE_PRESETS.python);
  assert.equal(envelope?.header.filename, "三体.txt");
  assert.equal(envelope?.bodyLength, 5);
  assert.equal(await new Response(envelope!.body).text(), "hello");
  // And we write exactly that layout.
  const ours = concatBytes(
    await Array.fromAsync(
      envelopeChunks({ filename: "三体.txt" }, text("hello"), undefined, ENVELOPE_PRESETS.python),
    ),
  );
  assert.deepEqual(ours, wire);
});

Deno.test(
  { name: "envelope: malformed headers give typed errors", permissions: "none" },
  async () => {
    const frame = (s: string) => encodeFrame(text(s));
    const cases: Array<[string, Uint8Array, (e: unknown) => boolean]> = [
      ["not JSON", frame("{size:1"), (e) => e instanceof CorruptFrameError],
      [
        "not UTF-8",
        encodeFrame(new Uint8Array([0x7b, 0xff, 0x7d])),
        (e) => e instanceof CorruptFrameError,
      ],
      ["an array", frame("[1]"), (e) => e instanceof CorruptFrameError],
      ["null", frame("null"), (e) => e instanceof CorruptFrameError],
      ["a number", frame("5"), (e) => e instanceof CorruptFrameError],
      ["no size", frame('{"name":"x"}'), (e) => e instanceof CorruptFrameError],
      ["negative size", frame('{"size":-1}'), (e) => e instanceof CorruptFrameError],
      ["fractional size", frame('{"size":0.5}'), (e) => e instanceof CorruptFrameError],
      ["string size", frame('{"size":"5"}'), (e) => e instanceof CorruptFrameError],
      ["huge size", frame('{"size":1e300}'), (e) => e instanceof CorruptFrameError],
      [
        "header over 64 KiB",
        encodeFrame(new Uint8Array(65537), { maxFrameLength: 1 << 20 }),
        (e) => e instanceof FrameTooLargeError && e.limit === 65536,
      ],
      [
        "EOF inside the header",
        frame('{"size":1}').subarray(0, 8),
        (e) => e instanceof TruncatedFrameError && e.part === "body",
      ],
      [
        "EOF inside the length field",
        new Uint8Array([0, 0]),
        (e) => e instanceof TruncatedFrameError && e.part === "header",
      ],
    ];
    for (const [name, bytes, check] of cases) {
      await assert.rejects(readerOf(bytes).readEnvelope(), check, name);
    }
    // Body over its limit.
    await assert.rejects(
      readerOf(frame('{"size":100}')).readEnvelope({ maxBodyLength: 99 }),
      (e: unknown) => e instanceof FrameTooLargeError && e.declared === 100 && e.limit === 99,
    );
    // EOF inside the body: the body stream errors with the counts.
    const envelope = await readerOf(concatBytes([frame('{"size":10}'), text("abc")]))
      .readEnvelope();
    await assert.rejects(
      new Response(envelope!.body).arrayBuffer(),
      (e: unknown) => e instanceof TruncatedFrameError && e.expected === 10 && e.received === 3,
    );
  },
);

Deno.test({
  name: "envelope: writing checks the body's length and the header",
  permissions: "none",
}, async () => {
  const sink = () => new WritableStream<Uint8Array>();
  await assert.rejects(
    writeEnvelope(sink(), {}, ReadableStream.from([text("abc")]), 2),
    /longer than the declared 2 bytes/,
  );
  await assert.rejects(
    writeEnvelope(sink(), {}, ReadableStream.from([text("abc")]), 5),
    /ended after 3 of the declared 5 bytes/,
  );
  await assert.rejects(writeEnvelope(sink(), {}, ReadableStream.from([text("abc")])), TypeError);
  assert.throws(() => encodeEnvelopeHeader({ size: 3 }, 4), RangeError);
  assert.throws(() => encodeEnvelopeHeader([] as never, 4), TypeError);
  assert.throws(() => encodeEnvelopeHeader({}, -1), RangeError);
  assert.throws(() => encodeEnvelopeHeader({ big: "x".repeat(70_000) }, 1), FrameTooLargeError);
  assert.throws(() => encodeEnvelopeHeader({}, 10, { maxBodyLength: 5 }), FrameTooLargeError);
  // Empty bodies work, and many envelopes share a stream.
  const wire = concatBytes(
    await Array.fromAsync(envelopeChunks({ i: 0 }, new Uint8Array(0))),
  );
  const reader = readerOf(concatBytes([wire, wire]), 1);
  for (let i = 0; i < 2; i++) {
    const envelope = await reader.readEnvelope();
    assert.equal(envelope?.bodyLength, 0);
    assert.equal((await new Response(envelope!.body).arrayBuffer()).byteLength, 0);
  }
  assert.equal(await reader.readEnvelope(), null);
});
