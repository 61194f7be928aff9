import assert from "node:assert/strict";
import {
  encodeFrames,
  FRAME_PRESETS,
  FrameBatchEncoder,
  FrameDecoder,
  FrameFormat,
  type FrameOptions,
  LENGTH_FORMATS,
} from "../framing/mod.ts";
import { Random } from "./_random.ts";

const LAYOUTS: FrameOptions[] = [
  ...LENGTH_FORMATS.map((lengthFormat): FrameOptions => ({ lengthFormat })),
  ...Object.values(FRAME_PRESETS),
  { lengthFormat: "u32be", lengthIncludesHeader: true },
  { lengthFormat: "u16le", lengthOffset: 3, lengthAdjustment: 1 },
];

function fieldMax(options: FrameOptions): number {
  const f = new FrameFormat(options);
  return Math.min(
    f.fieldMax - (f.lengthIncludesHeader ? f.lengthOffset + f.fieldSize : 0),
    400_000,
  );
}

/** Cuts a byte stream into random chunks: empty chunks, one-byte chunks, small and large ones. */
function chop(random: Random, bytes: Uint8Array): Uint8Array[] {
  const style = random.int(0, 3);
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    let n: number;
    if (style === 0 && bytes.length <= 20_000) n = 1; // one byte at a time
    else if (style === 1) n = random.int(0, 16); // tiny, with empty chunks
    else if (style === 2) n = random.int(0, 70_000);
    else n = random.pick([0, 1, 2, 3, 7, 4096, 65536, random.int(1, 300_000)]);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
    if (random.next() < 0.05) chunks.push(new Uint8Array(0));
  }
  return chunks;
}

Deno.test({
  name: "property: decode(encode(frames)) == frames under random chunkings (2,000 cases)",
  permissions: { env: ["SOCKKIT_SEED"] },
}, () => {
  const random = new Random();
  console.log(`seed ${random.seed} (replay with SOCKKIT_SEED=${random.seed})`);
  let frameCount = 0;
  let byteCount = 0;
  for (let round = 0; round < 2000; round++) {
    const options = random.pick(LAYOUTS);
    const prefix = options.lengthOffset ?? 0;
    const minimum = prefix + Math.max(0, options.lengthAdjustment ?? 0);
    const max = fieldMax(options);
    const count = random.int(0, 12);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const roll = random.next();
      const size = roll < 0.2
        ? minimum
        : roll < 0.8
        ? random.int(minimum, Math.min(max, 300))
        : roll < 0.97
        ? random.int(minimum, Math.min(max, 20_000))
        : random.int(minimum, max);
      frames.push(random.bytes(size));
    }
    const wire = round % 2 === 0 ? encodeFrames(frames, options) : (() => {
      const batch = new FrameBatchEncoder(options);
      for (const f of frames) batch.push(f);
      return batch.flush();
    })();
    const copy = random.next() < 0.3;
    const decoder = new FrameDecoder({ ...options, copy });
    const got: Uint8Array[] = [];
    const pull = random.next() < 0.3;
    for (const chunk of chop(random, wire)) {
      if (pull) {
        decoder.feed(chunk);
        for (let f = decoder.next(); f; f = decoder.next()) got.push(f);
      } else {
        got.push(...decoder.push(chunk));
      }
    }
    decoder.finish();
    assert.equal(got.length, frames.length, `seed ${random.seed}, round ${round}`);
    for (let i = 0; i < frames.length; i++) {
      assert.deepEqual(got[i], frames[i], `seed ${random.seed}, round ${round}, frame ${i}`);
    }
    frameCount += frames.length;
    byteCount += wire.length;
  }
  console.log(`${frameCount} frames, ${byteCount} bytes decoded`);
});
