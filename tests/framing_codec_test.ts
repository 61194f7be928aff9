import assert from "node:assert/strict";
import {
  concatBytes,
  encodeFrame,
  encodeFrames,
  FRAME_PRESETS,
  FrameBatchEncoder,
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
  FrameFormat,
  type FrameOptions,
  FrameTooLargeError,
  LENGTH_FORMATS,
  TruncatedFrameError,
} from "../framing/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** Every layout we test: every length format and every preset, plus a few Netty-style layouts. */
const LAYOUTS: Array<[string, FrameOptions]> = [
  ...LENGTH_FORMATS.map((f): [string, FrameOptions] => [f, { lengthFormat: f }]),
  ...Object.entries(FRAME_PRESETS).map(([k, v]): [string, FrameOptions] => [`preset ${k}`, v]),
  ["u16be includes header", { lengthFormat: "u16be", lengthIncludesHeader: true }],
  ["u8 type byte + u32le, adjustment +2", {
    lengthFormat: "u32le",
    lengthOffset: 1,
    lengthAdjustment: 2,
  }],
  ["2 prefix bytes + u24be includes header", {
    lengthFormat: "u24be",
    lengthOffset: 2,
    lengthIncludesHeader: true,
  }],
];

function sampleFrames(options: FrameOptions): Uint8Array[] {
  const prefix = options.lengthOffset ?? 0;
  const adjust = options.lengthAdjustment ?? 0;
  const minimum = prefix + Math.max(0, adjust);
  const sizes = [0, 1, 2, 5, 127, 128, 255, 300];
  const cap = options.lengthFormat === "u8" ? 255 : 300;
  return sizes
    .map((n) => Math.max(n, minimum))
    .filter((n) => n <= cap - (options.lengthIncludesHeader ? 8 : 0))
    .map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
}

Deno.test({
  name: "every split point of a multi-frame stream, for every format and preset",
  permissions: "none",
}, () => {
  for (const [name, options] of LAYOUTS) {
    const frames = sampleFrames(options);
    const wire = encodeFrames(frames, options);
    for (const copy of [false, true]) {
      for (let cut = 0; cut <= wire.length; cut++) {
        const decoder = new FrameDecoder({ ...options, copy });
        const got = [
          ...decoder.push(wire.subarray(0, cut)),
          ...decoder.push(wire.subarray(cut)),
        ];
        assert.deepEqual(got, frames, `${name}, split at ${cut}, copy ${copy}`);
        decoder.finish();
      }
    }
    // Two cuts, every pair, on a shorter stream.
    const short = encodeFrames(frames.slice(0, 4), options);
    for (let a = 0; a <= short.length; a++) {
      for (let b = a; b <= short.length; b++) {
        const decoder = new FrameDecoder(options);
        const got = [
          ...decoder.push(short.subarray(0, a)),
          ...decoder.push(short.subarray(a, b)),
          ...decoder.push(short.subarray(b)),
        ];
        assert.deepEqual(got, frames.slice(0, 4), `${name}, cuts at ${a} and ${b}`);
      }
    }
    // One byte at a time, through the pull API.
    const decoder = new FrameDecoder(options);
    const got: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i++) {
      decoder.feed(wire.subarray(i, i + 1));
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) got.push(f);
    }
    assert.deepEqual(got, frames, `${name}, byte by byte`);
  }
});

Deno.test({ name: "byte-exact vectors", permissions: "none" }, () => {
  // Python: struct.pack('i', 1) == b'\x01\x00\x00\x00'; struct.pack('i', 300) == b'\x2c\x01\x00\x00'
  assert.equal(
    hex(encodeFrame(new Uint8Array(1), FRAME_PRESETS.python).subarray(0, 4)),
    "01 00 00 00",
  );
  assert.equal(
    hex(encodeFrame(new Uint8Array(300), FRAME_PRESETS.python).subarray(0, 4)),
    "2c 01 00 00",
  );
  assert.equal(hex(encodeFrame(text("hi"))), "00 00 00 02 68 69");
  assert.equal(hex(encodeFrame(text("hi"), { lengthFormat: "u8" })), "02 68 69");
  assert.equal(hex(encodeFrame(text("hi"), { lengthFormat: "u16le" })), "02 00 68 69");
  assert.equal(hex(encodeFrame(text("hi"), { lengthFormat: "u24be" })), "00 00 02 68 69");
  assert.equal(hex(encodeFrame(text("hi"), { lengthFormat: "u32le" })), "02 00 00 00 68 69");
  assert.equal(
    hex(encodeFrame(text("hi"), { lengthFormat: "u64be" })),
    "00 00 00 00 00 00 00 02 68 69",
  );
  // protobuf/libp2p varint: 300 = ac 02
  assert.equal(hex(encodeFrame(new Uint8Array(300), FRAME_PRESETS.libp2p).subarray(0, 2)), "ac 02");
  assert.equal(
    hex(encodeFrame(new Uint8Array(2 ** 20), { lengthFormat: "varint" }).subarray(0, 3)),
    "80 80 40",
  );
  // gRPC: flag byte 0, u32be length 5, "hello"
  assert.equal(
    hex(encodeFrame(new Uint8Array([0, ...text("hello")]), FRAME_PRESETS.grpc)),
    "00 00 00 00 05 68 65 6c 6c 6f",
  );
  // Netty's LengthFieldBasedFrameDecoder docs: 2-byte length that counts itself: 0x000E "HELLO, WORLD"
  const netty = encodeFrame(text("HELLO, WORLD"), {
    lengthFormat: "u16be",
    lengthIncludesHeader: true,
  });
  assert.equal(hex(netty.subarray(0, 2)), "00 0e");
  const sameByAdjustment = encodeFrame(text("HELLO, WORLD"), {
    lengthFormat: "u16be",
    lengthAdjustment: -2,
  });
  assert.deepEqual(sameByAdjustment, netty);
  assert.deepEqual(
    new FrameDecoder({ lengthFormat: "u16be", lengthAdjustment: -2 }).push(netty),
    [text("HELLO, WORLD")],
  );
});

Deno.test({ name: "decoded frames are views of the input, or copies", permissions: "none" }, () => {
  const wire = encodeFrames([text("abc"), text("de")]);
  const [a, b] = new FrameDecoder().push(wire);
  assert.equal(a.buffer, wire.buffer, "a frame inside one chunk aliases it");
  assert.equal(b.byteOffset, wire.byteOffset + 11);
  const [c] = new FrameDecoder({ copy: true }).push(wire);
  assert.notEqual(c.buffer, wire.buffer);
  assert.deepEqual(c, text("abc"));
  // A frame spanning chunks is assembled once, into memory of its own (a slab shared with other
  // assembled frames; with copy: true a buffer of exactly its size): it aliases no input chunk.
  const decoder = new FrameDecoder();
  assert.deepEqual(decoder.push(wire.subarray(0, 5)), []);
  const [d] = decoder.push(wire.subarray(5));
  assert.deepEqual(d, text("abc"));
  assert.notEqual(d.buffer, wire.buffer);
  const copying = new FrameDecoder({ copy: true });
  copying.push(wire.subarray(0, 5));
  const [e] = copying.push(wire.subarray(5));
  assert.equal(e.buffer.byteLength, 3);
  // Assembled frames carved from one slab never overlap.
  const big = encodeFrames([new Uint8Array(1000).fill(1), new Uint8Array(1000).fill(2)]);
  const slabbed = new FrameDecoder();
  const got: Uint8Array[] = [];
  for (let i = 0; i < big.length; i += 300) got.push(...slabbed.push(big.slice(i, i + 300)));
  assert.deepEqual(got, [new Uint8Array(1000).fill(1), new Uint8Array(1000).fill(2)]);
  got[0].fill(9);
  assert.deepEqual(got[1], new Uint8Array(1000).fill(2));
});

Deno.test({ name: "batch encoder equals frame-by-frame encoding", permissions: "none" }, () => {
  for (const [name, options] of LAYOUTS) {
    const frames = sampleFrames(options);
    const batch = new FrameBatchEncoder({ ...options, initialCapacity: 16 });
    for (const f of frames) batch.push(f);
    assert.equal(batch.frameCount, frames.length);
    const bytes = batch.flush().slice();
    assert.deepEqual(bytes, concatBytes(frames.map((f) => encodeFrame(f, options))), name);
    assert.equal(batch.byteLength, 0);
    batch.push(frames[frames.length - 1]);
    assert.deepEqual(batch.flush(), encodeFrame(frames[frames.length - 1], options));
  }
});

Deno.test({ name: "streams round-trip and report truncation", permissions: "none" }, async () => {
  const messages = [text("one"), new Uint8Array(0), new Uint8Array(100_000).fill(7), text("end")];
  const out = await Array.fromAsync(
    ReadableStream.from(messages)
      .pipeThrough(new FrameEncoderStream({ lengthFormat: "u24be" }))
      .pipeThrough(new FrameDecoderStream({ lengthFormat: "u24be" })),
  );
  assert.deepEqual(out, messages);

  const cut = encodeFrame(text("hello")).subarray(0, 7);
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([cut]).pipeThrough(new FrameDecoderStream())),
    (error: unknown) =>
      error instanceof TruncatedFrameError && error.expected === 9 && error.received === 7 &&
      error.part === "body",
  );
});

Deno.test({ name: "limits apply on encode too", permissions: "none" }, () => {
  assert.throws(
    () => encodeFrame(new Uint8Array(1025), { maxFrameLength: 1024 }),
    (e: unknown) => e instanceof FrameTooLargeError && e.declared === 1025 && e.limit === 1024,
  );
  assert.equal(encodeFrame(new Uint8Array(1024), { maxFrameLength: 1024 }).length, 1028);
  // A length that does not fit the field: never silently truncated.
  assert.throws(
    () => encodeFrame(new Uint8Array(65536), { lengthFormat: "u16be" }),
    FrameTooLargeError,
  );
  assert.throws(
    () => encodeFrame(new Uint8Array(2 ** 24), { lengthFormat: "u24be", maxFrameLength: 2 ** 25 }),
    FrameTooLargeError,
  );
  assert.equal(encodeFrame(new Uint8Array(255), { lengthFormat: "u8" })[0], 255);
  const batch = new FrameBatchEncoder({ lengthFormat: "u8" });
  assert.throws(() => batch.push(new Uint8Array(256)), FrameTooLargeError);
  assert.equal(batch.byteLength, 0, "a refused frame leaves nothing behind");
  // The payload must hold the bytes before the length field.
  assert.throws(() => encodeFrame(new Uint8Array(0), FRAME_PRESETS.grpc), RangeError);
  assert.throws(() => encodeFrame("text" as never), TypeError);
});

Deno.test({ name: "bad options throw RangeError or TypeError", permissions: "none" }, () => {
  assert.throws(() => new FrameFormat({ lengthFormat: "u128" as never }), TypeError);
  assert.throws(() => new FrameFormat({ lengthFormat: 4 as never }), TypeError);
  assert.throws(() => new FrameFormat({ maxFrameLength: 2 ** 53 }), RangeError);
  assert.throws(() => new FrameFormat({ maxFrameLength: 1.5 }), RangeError);
  assert.throws(() => new FrameFormat({ maxFrameLength: "1" as never }), TypeError);
  assert.throws(() => new FrameFormat({ lengthOffset: -1 }), RangeError);
  assert.throws(() => new FrameFormat({ lengthOffset: 256 }), RangeError);
  assert.throws(() => new FrameFormat({ lengthAdjustment: 0.5 }), RangeError);
  assert.throws(
    () => new FrameFormat({ lengthFormat: "varint", lengthIncludesHeader: true }),
    RangeError,
  );
  assert.throws(() => new FrameFormat({ lengthIncludesHeader: 1 as never }), TypeError);
  assert.throws(() => new FrameDecoder({ copy: "yes" as never }), TypeError);
  assert.throws(() => new FrameBatchEncoder({ initialCapacity: 0 }), RangeError);
  assert.throws(() => new FrameDecoder().push("text" as never), TypeError);
});
