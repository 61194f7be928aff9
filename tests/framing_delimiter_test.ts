/**
 * Delimiter framing: every split point, seeded random chunkings and delimiter sets against a
 * plain reference that sees the whole input at once, and hostile input.
 */
import assert from "node:assert/strict";
import {
  DELIMITER_PRESETS,
  DelimiterDecoder,
  DelimiterDecoderStream,
  DelimiterEncoder,
  DelimiterEncoderStream,
  DelimiterInPayloadError,
  type DelimiterOptions,
  FrameTooLargeError,
  type StreamDecoder,
  TruncatedFrameError,
} from "../framing/mod.ts";
import { Random } from "./_random.ts";

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytesOf = (s: string) => utf8.encode(s);

type Outcome = { frames: string[]; error?: "too large" | "truncated" };

/**
 * The meaning, written plainly over the whole input: a frame ends where the first delimiter ends
 * (the longest when several end there); a frame over the limit is an error or skipped.
 */
function reference(input: Uint8Array, options: DelimiterOptions): Outcome {
  const delims = (options.delimiters ?? ["\n"]).map((d) => typeof d === "string" ? bytesOf(d) : d)
    .sort((a, b) => b.length - a.length);
  const longest = delims[0].length;
  const max = options.maxFrameLength ?? 16 * 1024 * 1024;
  const discard = options.oversize === "discard";
  const frames: string[] = [];
  let start = 0;
  for (let e = 0; e < input.length; e++) {
    const d = delims.find((d) =>
      d.length <= e - start + 1 && d.every((b, k) => input[e - d.length + 1 + k] === b)
    );
    if (d === undefined) continue;
    const frame = input.subarray(start, e - d.length + 1);
    start = e + 1;
    if (frame.length > max) {
      if (!discard) return { frames, error: "too large" };
      continue;
    }
    frames.push(text(frame));
  }
  const rest = input.length - start;
  if (rest === 0) return { frames };
  if (rest - (longest - 1) > max) return discard ? { frames } : { frames, error: "too large" };
  if (options.unterminated !== "frame") return { frames, error: "truncated" };
  if (rest > max) return discard ? { frames } : { frames, error: "too large" };
  frames.push(text(input.subarray(start)));
  return { frames };
}

/** Decodes chunks through push (or feed/next) and finish, as a transport would. */
function decode(chunks: Uint8Array[], options: DelimiterOptions, pull = false): Outcome {
  const decoder: StreamDecoder = new DelimiterDecoder(options);
  const frames: string[] = [];
  const take = (list: Uint8Array[]) => list.forEach((f) => frames.push(text(f)));
  try {
    for (const chunk of chunks) {
      if (pull) {
        decoder.feed(chunk);
        for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push(text(f));
      } else {
        take(decoder.push(chunk));
      }
    }
    take(decoder.finish());
    if (decoder.error !== undefined) decoder.finish();
  } catch (error) {
    if (error instanceof FrameTooLargeError) return { frames, error: "too large" };
    if (error instanceof TruncatedFrameError) return { frames, error: "truncated" };
    throw error;
  }
  return { frames };
}

const SETS: DelimiterOptions[] = [
  DELIMITER_PRESETS.line,
  DELIMITER_PRESETS.crlf,
  DELIMITER_PRESETS.lf,
  DELIMITER_PRESETS.nul,
  { delimiters: ["--", "\n"] }, // different last bytes: the byte-table scan
  { delimiters: ["aba", "ba"] }, // overlapping, self-similar
  { delimiters: ["\r\n\r\n"] }, // HTTP header end
];

Deno.test({
  name: "delimiter: every split point (two cuts) matches the reference",
  permissions: "none",
}, () => {
  const corpus = bytesOf("ab\r\nc\n\n\r\r\nd--e-\nababa\0x\r\n\r\ny");
  for (const set of SETS) {
    for (
      const extra of [{}, { unterminated: "frame" as const }, {
        maxFrameLength: 3,
        oversize: "discard" as const,
      }]
    ) {
      const options = { ...set, ...extra };
      const want = reference(corpus, options);
      for (let i = 0; i <= corpus.length; i++) {
        for (let j = i; j <= corpus.length; j++) {
          const chunks = [corpus.subarray(0, i), corpus.subarray(i, j), corpus.subarray(j)];
          assert.deepEqual(
            decode(chunks, options, (i + j) % 2 === 0),
            want,
            `${JSON.stringify(options)} cut ${i},${j}`,
          );
        }
      }
    }
  }
});

Deno.test({
  name: "delimiter: seeded random inputs, chunkings and limits match the reference (3,000 cases)",
  permissions: "none",
}, () => {
  const random = new Random(Date.now() % 2 ** 31);
  const alphabet = bytesOf("ab\r\n-\0");
  for (let n = 0; n < 3000; n++) {
    const set = random.pick(SETS);
    const options: DelimiterOptions = {
      ...set,
      maxFrameLength: random.pick([0, 1, 2, 5, 40, 1000]),
      oversize: random.pick(["error", "discard"] as const),
      unterminated: random.pick(["error", "frame"] as const),
    };
    const input = new Uint8Array(random.int(0, 300)).map(() => random.pick([...alphabet]));
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < input.length;) {
      const size = random.pick([0, 1, 1, 2, 3, random.int(1, 64)]);
      chunks.push(input.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(
      decode(chunks, options, random.next() < 0.5),
      reference(input, options),
      `seed ${random.seed}, case ${n}: ${JSON.stringify(options)} ${JSON.stringify(text(input))}`,
    );
  }
});

Deno.test({
  name:
    "delimiter: long frames across chunks of their own (kept as views) match the reference (300 cases)",
  permissions: "none",
}, () => {
  const random = new Random(Date.now() % 2 ** 31);
  for (let n = 0; n < 300; n++) {
    const set = random.pick(SETS);
    const options: DelimiterOptions = {
      ...set,
      maxFrameLength: random.pick([5000, 20_000, 100_000]),
      oversize: random.pick(["error", "discard"] as const),
      unterminated: random.pick(["error", "frame"] as const),
    };
    const input = new Uint8Array(random.int(0, 60_000)).fill(0x61);
    for (let k = random.int(0, 12); k > 0; k--) {
      const at = random.int(0, input.length);
      input.set(
        bytesOf(random.pick(["\n", "\r\n", "--", "\0", "aba", "\r\n\r\n"])).subarray(
          0,
          input.length - at,
        ),
        at,
      );
    }
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < input.length;) {
      const size = random.pick([1, 7, 4096, 5000, random.int(1, 20_000)]);
      chunks.push(input.slice(at, at + size)); // each chunk its own buffer
      at += size;
    }
    assert.deepEqual(
      decode(chunks, options, random.next() < 0.5),
      reference(input, options),
      `seed ${random.seed}, case ${n}: ${JSON.stringify(options)}`,
    );
  }
});

Deno.test({
  name: "delimiter: encode then decode gives the payloads back, every preset",
  permissions: "none",
}, () => {
  const random = new Random(Date.now() % 2 ** 31);
  for (const set of SETS) {
    const encoder = new DelimiterEncoder(set);
    const payloads = Array.from({ length: 200 }, () => {
      for (;;) {
        const p = new Uint8Array(random.int(0, 30)).map(() =>
          random.pick([...bytesOf("ab\r\n-\0c")])
        );
        try {
          encoder.encode(p);
          return p;
        } catch (error) {
          assert.ok(error instanceof DelimiterInPayloadError);
        }
      }
    });
    const wire = encoder.encodeAll(payloads);
    const decoder = new DelimiterDecoder(set);
    const got: Uint8Array[] = [];
    for (let at = 0; at < wire.length;) {
      const size = random.int(1, 20);
      got.push(...decoder.push(wire.subarray(at, at + size)));
      at += size;
    }
    assert.deepEqual(decoder.finish(), []);
    assert.deepEqual(got, payloads, `seed ${random.seed} ${JSON.stringify(set)}`);
  }
});

Deno.test({ name: "delimiter: CRLF split between CR and LF", permissions: "none" }, () => {
  for (const preset of [DELIMITER_PRESETS.line, DELIMITER_PRESETS.crlf]) {
    const decoder = new DelimiterDecoder(preset);
    assert.deepEqual(decoder.push(bytesOf("PING\r")), []);
    assert.deepEqual(decoder.push(bytesOf("\nQUIT\r")).map(text), ["PING"]);
    assert.deepEqual(decoder.push(bytesOf("\n")).map(text), ["QUIT"]);
    assert.equal(decoder.bufferedLength, 0);
  }
  // With crlf only, a lone LF and a lone CR are data.
  const crlf = new DelimiterDecoder({ ...DELIMITER_PRESETS.crlf, unterminated: "frame" });
  assert.deepEqual(crlf.push(bytesOf("a\nb\r")), []);
  assert.deepEqual(crlf.finish().map(text), ["a\nb\r"]);
  // With lf only, the CR stays.
  assert.deepEqual(new DelimiterDecoder(DELIMITER_PRESETS.lf).push(bytesOf("a\r\n")).map(text), [
    "a\r",
  ]);
});

Deno.test({
  name: "delimiter: CRLF and a 4-byte delimiter split after a large chunk (held as a view)",
  permissions: "none",
}, () => {
  for (
    const [preset, delimiter] of [[DELIMITER_PRESETS.crlf, "\r\n"], [
      { delimiters: ["\r\n\r\n"] },
      "\r\n\r\n",
    ]] as const
  ) {
    for (let cut = 1; cut < delimiter.length; cut++) {
      const first = new Uint8Array(10_000).fill(0x61);
      first.set(bytesOf(delimiter.slice(0, cut)), first.length - cut);
      const second = bytesOf(delimiter.slice(cut) + "next" + delimiter);
      const decoder = new DelimiterDecoder(preset);
      assert.deepEqual(decoder.push(bytesOf("x")), []);
      assert.deepEqual(decoder.push(first), []);
      const got = decoder.push(second).map(text);
      assert.deepEqual(
        got,
        ["x" + "a".repeat(10_000 - cut), "next"],
        `${JSON.stringify(delimiter)} cut ${cut}`,
      );
    }
  }
});

Deno.test({
  name: "delimiter: an endless line fails fast, never buffered past the limit",
  permissions: "none",
}, () => {
  const max = 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const decoder = new DelimiterDecoder({ ...DELIMITER_PRESETS.line, maxFrameLength: max });
  let pushed = 0;
  let error: unknown;
  try {
    for (let i = 0; i < 1000; i++) {
      decoder.push(chunk);
      pushed += chunk.length;
      assert.ok(decoder.bufferedLength <= max + 1, `buffered ${decoder.bufferedLength}`);
    }
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof FrameTooLargeError);
  assert.equal(error.limit, max);
  assert.equal(pushed, max, "the chunk that passes the limit is refused, not kept");
  assert.throws(() => decoder.push(bytesOf("\n")), FrameTooLargeError);
});

Deno.test({
  name: "delimiter: an endless line is discarded to the next delimiter, memory stays flat",
  permissions: "none",
}, () => {
  const decoder = new DelimiterDecoder({
    ...DELIMITER_PRESETS.line,
    maxFrameLength: 100,
    oversize: "discard",
  });
  assert.deepEqual(decoder.push(bytesOf("ok\nx")).map(text), ["ok"]);
  const chunk = new Uint8Array(4096).fill(0x61);
  for (let i = 0; i < 2560; i++) {
    assert.deepEqual(decoder.push(chunk), []);
    assert.ok(decoder.bufferedLength <= 1, `buffered ${decoder.bufferedLength}`);
  }
  // The oversize line ends with CRLF split across chunks; the next line is whole again.
  assert.deepEqual(decoder.push(bytesOf("\r")), []);
  assert.deepEqual(decoder.push(bytesOf("\nnext\r\n")).map(text), ["next"]);
  assert.deepEqual(decoder.discarded, { frames: 1, bytes: 1 + 2560 * 4096 + 2 });
  assert.deepEqual(decoder.finish(), []);
});

Deno.test({
  name: "delimiter: the limit is exact, in one chunk or one byte at a time",
  permissions: "none",
}, () => {
  for (const preset of [DELIMITER_PRESETS.lf, DELIMITER_PRESETS.line, DELIMITER_PRESETS.crlf]) {
    const options = { ...preset, maxFrameLength: 10 };
    for (const [line, ok] of [["a".repeat(10), true], ["a".repeat(11), false]] as const) {
      const wire = bytesOf(line + (preset === DELIMITER_PRESETS.crlf ? "\r\n" : "\n"));
      const whole = decode([wire], options);
      const trickled = decode([...wire].map((b) => new Uint8Array([b])), options);
      assert.deepEqual(whole, trickled);
      assert.deepEqual(whole, ok ? { frames: [line] } : { frames: [], error: "too large" });
    }
  }
});

Deno.test({
  name: "delimiter: frames inside a chunk are views; copy gives own buffers",
  permissions: "none",
}, () => {
  const chunk = bytesOf("one\ntwo\nthr");
  const [a, b] = new DelimiterDecoder().push(chunk);
  assert.equal(a.buffer, chunk.buffer);
  assert.equal(b.byteOffset, chunk.byteOffset + 4);
  const [c] = new DelimiterDecoder({ copy: true }).push(chunk);
  assert.notEqual(c.buffer, chunk.buffer);
  assert.equal(text(c), "one");
});

Deno.test({
  name: "delimiter: frames before a fault come first, then the fault",
  permissions: "none",
}, () => {
  const decoder = new DelimiterDecoder({ maxFrameLength: 4 });
  assert.deepEqual(decoder.push(bytesOf("a\nbb\ntoo long\nc\n")).map(text), ["a", "bb"]);
  assert.ok(decoder.error instanceof FrameTooLargeError);
  assert.throws(() => decoder.next(), FrameTooLargeError);
  // A truncated last line after complete ones pulled by finish: the lines, then the fault.
  const pulled = new DelimiterDecoder();
  pulled.feed(bytesOf("x\ny\nz"));
  assert.deepEqual(pulled.finish().map(text), ["x", "y"]);
  assert.ok(pulled.error instanceof TruncatedFrameError);
  assert.throws(() => pulled.finish(), TruncatedFrameError);
});

Deno.test({
  name: "delimiter: the stream hands every line to a slow reader before the error",
  permissions: "none",
}, async () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  const wire = bytesOf(lines.join("\n") + "\ncut off");
  const reader = ReadableStream.from([wire.subarray(0, 500), wire.subarray(500)])
    .pipeThrough(new DelimiterDecoderStream()).getReader();
  const got: string[] = [];
  let error: unknown;
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const { value, done } = await reader.read();
      if (done) break;
      got.push(text(value));
    }
  } catch (e) {
    error = e;
  }
  assert.deepEqual(got, lines);
  assert.ok(error instanceof TruncatedFrameError);
});

Deno.test({
  name: "delimiter encoder: refuses a payload holding a delimiter or over the limit",
  permissions: "none",
}, async () => {
  const line = new DelimiterEncoder(DELIMITER_PRESETS.line);
  assert.throws(
    () => line.encode("a\r\nb"),
    (e: unknown) => e instanceof DelimiterInPayloadError && e.index === 1,
  );
  assert.throws(() => line.encode("a\nb"), DelimiterInPayloadError);
  assert.equal(text(line.encode("a\rb")), "a\rb\n");
  // A CR at the end would run into the LF: the receiver would see CRLF and drop it.
  assert.throws(
    () => line.encode("a\r"),
    (e: unknown) => e instanceof DelimiterInPayloadError && e.index === 1,
  );
  // "xa" + "-" would end in the longer "a-": the receiver would get "x".
  const dashes = new DelimiterEncoder({ delimiters: ["-", "a-"] });
  assert.throws(
    () => dashes.encode("xa"),
    (e: unknown) => e instanceof DelimiterInPayloadError && e.index === 1,
  );
  assert.equal(text(dashes.encode("ax")), "ax-");
  assert.throws(
    () => new DelimiterEncoder({ maxFrameLength: 2 }).encode("abc"),
    FrameTooLargeError,
  );
  const stream = ReadableStream.from(["ok", "bad\n"]).pipeThrough(new DelimiterEncoderStream());
  await assert.rejects(Array.fromAsync(stream), DelimiterInPayloadError);
});

Deno.test({ name: "delimiter options: bad ones are refused", permissions: "none" }, () => {
  assert.throws(() => new DelimiterDecoder({ delimiters: [] }), TypeError);
  assert.throws(() => new DelimiterDecoder({ delimiters: [""] }), RangeError);
  assert.throws(() => new DelimiterDecoder({ delimiters: [5 as never] }), TypeError);
  assert.throws(() => new DelimiterDecoder({ maxFrameLength: -1 }), RangeError);
  assert.throws(() => new DelimiterDecoder({ oversize: "drop" as never }), TypeError);
  assert.throws(() => new DelimiterDecoder({ copy: 1 as never }), TypeError);
});

Deno.test({
  name: "delimiter: a 1 MiB line in 1-byte chunks and in 64 KiB chunks (linear scan)",
  permissions: "none",
}, () => {
  const line = new Uint8Array(1024 * 1024 + 1).fill(0x62);
  line[line.length - 1] = 0x0a;
  for (const size of [1, 65536]) {
    const decoder = new DelimiterDecoder();
    const frames: Uint8Array[] = [];
    for (let at = 0; at < line.length; at += size) {
      frames.push(...decoder.push(line.subarray(at, at + size)));
    }
    assert.equal(frames.length, 1);
    assert.equal(frames[0].length, 1024 * 1024);
  }
});
