/**
 * Every complete frame before a fault reaches the caller: a truncated tail, a header over the
 * limit, a corrupt header, met by `push`, by `next` and by the streams.
 */
import assert from "node:assert/strict";
import {
  CorruptFrameError,
  encodeFrames,
  FrameDecoder,
  FrameDecoderStream,
  type FrameOptions,
  FrameTooLargeError,
  TruncatedFrameError,
} from "../framing/mod.ts";

const frames = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(i % 7).fill(i));

/** Reads everything from a readable, one read per macrotask (a slow consumer). */
async function readSlowly(
  readable: ReadableStream<Uint8Array>,
): Promise<{ got: Uint8Array[]; error: unknown }> {
  const reader = readable.getReader();
  const got: Uint8Array[] = [];
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const { value, done } = await reader.read();
      if (done) return { got, error: undefined };
      got.push(value);
    }
  } catch (error) {
    return { got, error };
  }
}

Deno.test({
  name:
    "FrameDecoderStream: 100 frames then a truncated one: all 100 reach a slow reader, then the error",
  permissions: "none",
}, async () => {
  const sent = frames(100);
  // The truncated frame shares the last chunk with complete frames.
  const wire = new Uint8Array([...encodeFrames(sent), 0, 0, 0, 50, 1, 2, 3]);
  for (const cut of [wire.length, 1000, 7]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += cut) chunks.push(wire.subarray(i, i + cut));
    const { got, error } = await readSlowly(
      ReadableStream.from(chunks).pipeThrough(new FrameDecoderStream()),
    );
    assert.equal(got.length, 100, `chunks of ${cut}`);
    assert.deepEqual(got, sent);
    assert.ok(error instanceof TruncatedFrameError, `chunks of ${cut}: ${error}`);
    assert.equal(error.part, "body");
  }
});

Deno.test({
  name:
    "FrameDecoderStream: a bad header after good frames in the same chunk: the good frames, then the error",
  permissions: "none",
}, async () => {
  const sent = frames(20);
  const wire = new Uint8Array([
    ...encodeFrames(sent),
    0xff,
    0xff,
    0xff,
    0xff,
    ...encodeFrames(sent),
  ]);
  const { got, error } = await readSlowly(
    ReadableStream.from([wire]).pipeThrough(new FrameDecoderStream({ maxFrameLength: 1024 })),
  );
  assert.deepEqual(got, sent);
  assert.ok(error instanceof FrameTooLargeError);
});

const badHeaders: Array<[string, FrameOptions, Uint8Array, new (...a: never[]) => Error]> = [
  [
    "u32be over the limit",
    { maxFrameLength: 64 },
    new Uint8Array([0, 0, 1, 0]),
    FrameTooLargeError,
  ],
  [
    "i32le negative",
    { lengthFormat: "i32le" },
    new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    CorruptFrameError,
  ],
  [
    "varint over the limit",
    { lengthFormat: "varint", maxFrameLength: 64 },
    new Uint8Array([0x80, 0x02]),
    FrameTooLargeError,
  ],
  ["varint overlong", { lengthFormat: "varint" }, new Uint8Array([0x81, 0x00]), CorruptFrameError],
  [
    "grpc over the limit",
    { lengthFormat: "u32be", lengthOffset: 1, maxFrameLength: 64 },
    new Uint8Array([0, 0, 0, 1, 0]),
    FrameTooLargeError,
  ],
  [
    "u16be adjusted negative",
    { lengthFormat: "u16be", lengthAdjustment: -3 },
    new Uint8Array([0, 1]),
    CorruptFrameError,
  ],
];

Deno.test({
  name:
    "FrameDecoder.push: good frames in a chunk with a bad header are returned; the next call throws",
  permissions: "none",
}, () => {
  for (const [label, options, header, ErrorClass] of badHeaders) {
    const adjust = options.lengthAdjustment ?? 0;
    const sent = frames(10).map((f) =>
      new Uint8Array(
        [...f, 0, 0, 0, 0].slice(0, Math.max(f.length, 1 - adjust + (options.lengthOffset ?? 0))),
      )
    );
    const good = encodeFrames(sent, options);
    // Whole, and with the first frames in an earlier chunk (the multi-chunk path).
    for (const split of [0, 3, good.length - 1]) {
      const decoder = new FrameDecoder(options);
      const got = decoder.push(good.subarray(0, split));
      got.push(...decoder.push(new Uint8Array([...good.subarray(split), ...header, 9, 9, 9])));
      assert.deepEqual(got, sent, `${label}, split ${split}`);
      assert.ok(decoder.error instanceof ErrorClass, `${label}: ${decoder.error}`);
      assert.throws(() => decoder.push(new Uint8Array(0)), ErrorClass);
      assert.throws(() => decoder.next(), ErrorClass);
      assert.throws(() => decoder.finish(), ErrorClass);
    }
    // A bad header first: this call throws.
    const decoder = new FrameDecoder(options);
    assert.throws(() => decoder.push(header), ErrorClass, label);
  }
});

Deno.test({
  name: "FrameDecoder.next and push agree on the frames before a fault",
  permissions: "none",
}, () => {
  const sent = frames(30);
  const wire = new Uint8Array([...encodeFrames(sent), 0xff, 0xff, 0xff, 0xff]);
  const pulled = new FrameDecoder({ maxFrameLength: 100 });
  pulled.feed(wire);
  const viaNext: Uint8Array[] = [];
  assert.throws(() => {
    for (;;) viaNext.push(pulled.next()!);
  }, FrameTooLargeError);
  const pushed = new FrameDecoder({ maxFrameLength: 100 });
  assert.deepEqual(pushed.push(wire), viaNext);
  assert.deepEqual(viaNext, sent);
});

Deno.test({
  name: "FrameDecoderStream: abort while a write waits for the reader, and cancel, both settle",
  permissions: "none",
}, async () => {
  const wire = encodeFrames(frames(10));
  const aborted = new FrameDecoderStream();
  const writer = aborted.writable.getWriter();
  const pending = writer.write(wire); // 10 frames queued, nobody reads
  await new Promise((resolve) => setTimeout(resolve, 0)); // the write is now waiting
  await writer.abort(new Error("stop"));
  await pending.catch(() => {}); // settles (either way)
  await assert.rejects(aborted.readable.getReader().read(), /stop/);

  const cancelled = new FrameDecoderStream();
  const w = cancelled.writable.getWriter();
  const waiting = w.write(wire);
  await new Promise((resolve) => setTimeout(resolve, 0));
  await cancelled.readable.cancel(new Error("enough"));
  await waiting.catch(() => {});
  await assert.rejects(w.write(wire), /enough/);
});
