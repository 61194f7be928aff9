// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { analyzeReads, drawBoundaryPicture, payloadReads } from "../examples/boundary_picture.ts";
import { Random } from "./_random.ts";

/** Byte-by-byte oracle for analyzeReads: label every byte with its message. */
function oracle(sizes: number[], reads: number[]) {
  const owner: number[] = [];
  sizes.forEach((size, i) => {
    for (let b = 0; b < size; b++) owner.push(i);
  });
  const readsPerMessage = sizes.map(() => 0);
  let merged = 0, whole = 0, at = 0;
  for (const n of reads) {
    const touched = new Set(owner.slice(at, at + n));
    if (touched.size > 1) merged++;
    for (const i of touched) readsPerMessage[i]++;
    if (touched.size === 1) {
      const [i] = touched;
      if (sizes[i] === n && owner[at - 1] !== i && owner[at + n] !== i) whole++;
    }
    at += n;
  }
  return { merged, whole, readsPerMessage, split: readsPerMessage.filter((c) => c > 1).length };
}

function randomCuts(random: Random, total: number): number[] {
  const reads: number[] = [];
  let left = total;
  while (left > 0) {
    const n = Math.min(left, random.int(1, 64));
    reads.push(n);
    left -= n;
  }
  return reads;
}

Deno.test({
  name: "analyzeReads: one read per message keeps boundaries",
  permissions: "none",
  fn() {
    const result = analyzeReads([5, 7, 1], [5, 7, 1]);
    assert.equal(result.boundariesKept, true);
    assert.equal(result.whole, 3);
    assert.equal(result.merged, 0);
    assert.equal(result.split, 0);
    assert.deepEqual(result.readsPerMessage, [1, 1, 1]);
  },
});

Deno.test({
  name: "analyzeReads: all in one read is a merge; a large message over many reads is a split",
  permissions: "none",
  fn() {
    const merged = analyzeReads([5, 7, 1], [13]);
    assert.equal(merged.merged, 1);
    assert.equal(merged.whole, 0);
    assert.equal(merged.boundariesKept, false);

    const split = analyzeReads([3, 4096], [3, 1024, 1024, 1024, 1024]);
    assert.equal(split.merged, 0);
    assert.equal(split.split, 1);
    assert.equal(split.whole, 1);
    assert.deepEqual(split.readsPerMessage, [1, 4]);
    assert.equal(split.largestRead, 1024);
  },
});

Deno.test({
  name: "analyzeReads: an empty message is invisible, missing bytes are not kept boundaries",
  permissions: "none",
  fn() {
    const empty = analyzeReads([4, 0, 4], [4, 4]);
    assert.equal(empty.invisible, 1);
    assert.equal(empty.whole, 2);
    assert.equal(empty.boundariesKept, false);

    const short = analyzeReads([4, 4], [4]);
    assert.equal(short.bytesRead, 4);
    assert.equal(short.bytesSent, 8);
    assert.equal(short.boundariesKept, false);
    assert.deepEqual(short.readsPerMessage, [1, 0]);
  },
});

Deno.test({
  name: "analyzeReads: agrees with a byte-by-byte count on 300 random cases",
  permissions: "none",
  fn() {
    const random = new Random();
    for (let c = 0; c < 300; c++) {
      const sizes = Array.from({ length: random.int(1, 20) }, () => random.int(0, 80));
      const total = sizes.reduce((a, b) => a + b, 0);
      const reads = randomCuts(random, total);
      const got = analyzeReads(sizes, reads);
      const want = oracle(sizes, reads);
      const why = `seed ${random.seed}, sizes ${sizes}, reads ${reads}`;
      assert.equal(got.merged, want.merged, why);
      assert.equal(got.split, want.split, why);
      assert.equal(got.whole, want.whole, why);
      assert.deepEqual(got.readsPerMessage, want.readsPerMessage, why);
    }
  },
});

Deno.test({
  name: "analyzeReads: bad sizes throw RangeError",
  permissions: "none",
  fn() {
    assert.throws(() => analyzeReads([1, -1], [0]), RangeError);
    assert.throws(() => analyzeReads([1], [0.5]), RangeError);
  },
});

Deno.test({
  name: "payloadReads: maps wire reads to payload offsets on 300 random cases",
  permissions: "none",
  fn() {
    const random = new Random();
    for (let c = 0; c < 300; c++) {
      const header = random.int(0, 8);
      const sizes = Array.from({ length: random.int(1, 12) }, () => random.int(0, 40));
      const wire: boolean[] = []; // true: a payload byte
      for (const size of sizes) {
        for (let b = 0; b < header; b++) wire.push(false);
        for (let b = 0; b < size; b++) wire.push(true);
      }
      const reads = randomCuts(random, wire.length);
      // oracle: a wire boundary sits after as many payload bytes as precede it
      const want: number[] = [];
      let at = 0, previous = 0;
      for (const n of reads) {
        at += n;
        const payload = wire.slice(0, at).filter(Boolean).length;
        if (payload > previous) want.push(payload - previous);
        previous = payload;
      }
      const why = `seed ${random.seed}, header ${header}, sizes ${sizes}, reads ${reads}`;
      assert.deepEqual(payloadReads(sizes, header, reads), want, why);
    }
  },
});

Deno.test({
  name: "drawBoundaryPicture: a read boundary inside a message is never drawn under a '|'",
  permissions: "none",
  fn() {
    // 101 + 99 bytes over two 100-byte messages: r2 starts 1 byte into message 1
    const lines = drawBoundaryPicture([100, 100], [{ label: "r", reads: [101, 99] }], {
      bytesPerColumn: 25,
      width: 40,
    });
    assert.deepEqual(lines, [
      "sent |0   |1   |",
      "r    [r1  ][r2]",
    ]);
    const [sent, reads] = lines;
    const r2 = reads.lastIndexOf("[");
    assert.notEqual(sent[r2], "|"); // r2 starts after message 1's "|"
    assert.equal(sent.lastIndexOf("|", r2), r2 - 1);
  },
});

Deno.test({
  name: "drawBoundaryPicture: messages rows, refused and lost marks, empty message",
  permissions: "none",
  fn() {
    const lines = drawBoundaryPicture([8, 100_000, 0], [
      { label: "udp", messages: ["whole", "refused", "whole"] },
      { label: "tcp", reads: [100_008] },
    ], { messageLabels: ["a", "big", "∅"], width: 40 });
    assert.deepEqual(lines, [
      "sent |a  |big          |∅  |",
      "udp  [a ] ✘ refused    [∅ ]",
      "tcp  [r1              ]",
    ]);
  },
});

Deno.test({
  name: "drawBoundaryPicture: wraps at message boundaries, every line within the width",
  permissions: "none",
  fn() {
    const sizes = Array.from({ length: 60 }, (_, i) => 10 + (i % 7) * 5);
    const total = sizes.reduce((a, b) => a + b, 0);
    const reads = [1024, total - 1024];
    const lines = drawBoundaryPicture(sizes, [
      { label: "reads", reads },
      { label: "frames", messages: sizes.map(() => "whole") },
    ], { width: 60 });
    const chunks = lines.join("\n").split("\n\n").map((c) => c.split("\n"));
    assert.ok(chunks.length > 1, "should wrap");
    for (const [sent, , frames] of chunks) {
      assert.ok(sent.startsWith("sent   |"), sent); // each line starts at a message
      assert.ok(frames.startsWith("frames ["), frames);
    }
    for (const line of lines) assert.ok(line.length <= 60, line);
    // every message label appears exactly once in the sent rows
    const labels = chunks.flatMap(([sent]) => sent.slice(7).split("|").filter((s) => s !== ""));
    assert.deepEqual(labels.map((s) => s.trim()), sizes.map((_, i) => String(i)));
  },
});

Deno.test({
  name: "drawBoundaryPicture: bad rows and options throw RangeError",
  permissions: "none",
  fn() {
    assert.throws(
      () => drawBoundaryPicture([1, 2], [{ label: "x", messages: ["whole"] }]),
      RangeError,
    );
    assert.throws(() => drawBoundaryPicture([1], [], { width: 10 }), RangeError);
    assert.throws(() => drawBoundaryPicture([1], [], { minSpan: 2 }), RangeError);
    assert.throws(() => drawBoundaryPicture([1], [], { messageLabels: [] }), RangeError);
  },
});

Deno.test({
  name: "drawBoundaryPicture: maxBytes draws the start of a long stream, open at the cut",
  permissions: "none",
  fn() {
    // one large message over 1,024-byte reads: only the first four reads are drawn
    const reads = [...new Array<number>(1023).fill(1024), 997, 27];
    const lines = drawBoundaryPicture([1 << 20], [{ label: "recv", reads }], {
      width: 40,
      bytesPerColumn: 128,
      maxSpan: 33,
      maxBytes: 4096,
      messageLabels: ["1 MiB"],
    });
    assert.deepEqual(lines, [
      "sent |1 MiB                           …",
      "recv [r1     ][r2    ][r3    ][r4    ]…", // the message goes on; so do the reads
    ]);

    // a cut inside a message and inside a read: neither is closed; a cut on a boundary keeps "|"
    const cut = drawBoundaryPicture([16, 16, 32], [
      { label: "recv(1024)", reads: [32, 14, 18] },
      { label: "frames", messages: ["whole", "whole", "whole"] },
    ], { width: 40, bytesPerColumn: 4, maxBytes: 40 });
    assert.deepEqual(cut, [
      "sent       |0   |1   |2  …",
      "recv(1024) [r1      ][r2 …",
      "frames     [0  ][1  ][2  …",
    ]);
    const onBoundary = drawBoundaryPicture([16, 16, 32], [{ label: "recv", reads: [32, 32] }], {
      width: 40,
      bytesPerColumn: 4,
      maxBytes: 32,
    });
    assert.deepEqual(onBoundary, ["sent |0   |1   |…", "recv [r1      ]…"]);

    // maxBytes at or past the end changes nothing
    const whole = drawBoundaryPicture([16, 16], [{ label: "r", reads: [20, 12] }], { width: 40 });
    assert.deepEqual(
      drawBoundaryPicture([16, 16], [{ label: "r", reads: [20, 12] }], { width: 40, maxBytes: 32 }),
      whole,
    );
    assert.throws(() => drawBoundaryPicture([16], [], { maxBytes: 0 }), RangeError);
    assert.throws(() => drawBoundaryPicture([16], [], { maxBytes: 1.5 }), RangeError);
  },
});
