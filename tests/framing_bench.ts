/**
 * Framing benchmark: in-memory decode of back-to-back frames fed in 64 KiB chunks, beside a
 * minimal hand-written zero-copy loop (the ceiling for JavaScript) and a plain `Uint8Array.set`
 * copy (memcpy); and encoding into a batch buffer. Prints one table with ratios.
 *
 * Run: `deno task bench framing`.
 *
 * @module
 */

import { encodeFrame, FrameBatchEncoder, FrameFormat } from "../framing/mod.ts";
import { CHUNK, frameStream, handLoop, sockkitDecode } from "./_frame_stream.ts";

const STREAM_BYTES = 32 * 1024 * 1024;
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "0.8");

/** Runs `fn` (one pass over the stream) repeatedly for about SECONDS; returns passes per second. */
function measure(fn: () => number): { perSecond: number; check: number } {
  let check = fn(); // warm up
  check += fn();
  let passes = 0;
  const start = performance.now();
  let now = start;
  while (now - start < SECONDS * 1000) {
    check += fn();
    passes++;
    now = performance.now();
  }
  return { perSecond: passes / ((now - start) / 1000), check };
}

function memcpy(chunks: Uint8Array[], target: Uint8Array): number {
  let at = 0;
  for (const chunk of chunks) {
    target.set(chunk, at);
    at += chunk.length;
  }
  return target[at - 1];
}

const rows: string[][] = [];
const fmt = (n: number, digits = 2) => n.toFixed(digits);

for (const payload of [16, 1024, 64 * 1024]) {
  const { chunks, frames, bytes } = frameStream(payload, STREAM_BYTES);
  const target = new Uint8Array(bytes);
  const ours = measure(() => sockkitDecode(chunks));
  const hand = measure(() => handLoop(chunks));
  const copy = measure(() => memcpy(chunks, target));
  if (ours.check <= 0 || hand.check <= 0) throw new Error("nothing decoded");
  const label = payload >= 1024 ? `${payload / 1024} KiB` : `${payload} B`;
  rows.push([
    `decode ${label}`,
    fmt((ours.perSecond * frames) / 1e6),
    fmt((ours.perSecond * bytes) / 1e9),
    fmt((hand.perSecond * frames) / 1e6),
    fmt((hand.perSecond * bytes) / 1e9),
    fmt((copy.perSecond * bytes) / 1e9),
    fmt(ours.perSecond / hand.perSecond),
    fmt(ours.perSecond / copy.perSecond),
  ]);
}

// Encoding 16 B frames into a batch buffer, flushed every 64 KiB.
{
  const payload = new Uint8Array(16).fill(1);
  const format = new FrameFormat();
  const batch = new FrameBatchEncoder(format);
  const perPass = 1_000_000;
  const enc = measure(() => {
    let out = 0;
    for (let i = 0; i < perPass; i++) {
      batch.push(payload);
      if (batch.byteLength >= CHUNK) out += batch.flush().length;
    }
    return out + batch.flush().length;
  });
  const hand = measure(() => {
    const buf = new Uint8Array(CHUNK + 64);
    let at = 0;
    let out = 0;
    for (let i = 0; i < perPass; i++) {
      buf[at] = 0;
      buf[at + 1] = 0;
      buf[at + 2] = 0;
      buf[at + 3] = 16;
      for (let j = 0; j < 16; j++) buf[at + 4 + j] = payload[j];
      at += 20;
      if (at >= CHUNK) {
        out += at;
        at = 0;
      }
    }
    return out + at;
  });
  const one = measure(() => {
    let out = 0;
    for (let i = 0; i < perPass / 10; i++) out += encodeFrame(payload, format).length;
    return out;
  });
  rows.push([
    "encode 16 B (batch)",
    fmt((enc.perSecond * perPass) / 1e6),
    fmt((enc.perSecond * perPass * 20) / 1e9),
    fmt((hand.perSecond * perPass) / 1e6),
    fmt((hand.perSecond * perPass * 20) / 1e9),
    "",
    fmt(enc.perSecond / hand.perSecond),
    "",
  ]);
  rows.push([
    "encodeFrame 16 B (alloc each)",
    fmt((one.perSecond * perPass) / 10 / 1e6),
    fmt((one.perSecond * perPass * 2) / 1e9),
    "",
    "",
    "",
    fmt(one.perSecond / 10 / hand.perSecond),
    "",
  ]);
}

const header = [
  "case",
  "sockkit M/s",
  "sockkit GB/s",
  "hand loop M/s",
  "hand GB/s",
  "memcpy GB/s",
  "vs hand",
  "vs memcpy",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(`framing: ${CHUNK / 1024} KiB input chunks, ${STREAM_BYTES >> 20} MiB per pass, u32be`);
console.log(line(header));
for (const row of rows) console.log(line(row));
