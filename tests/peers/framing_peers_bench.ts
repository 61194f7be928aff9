/**
 * sockkit's framing beside npm's `it-length-prefixed` (libp2p's length-prefixed streams: unsigned
 * varint lengths), in one run: decode of back-to-back frames fed in 64 KiB chunks, and encoding
 * of many frames. Prints one table with ratios. `deno task bench framing_peers`.
 *
 * It lives in its own folder with its own `deno.json` and `deno.lock`, so that the npm package is
 * fetched only by this benchmark: the library, the demo and the tests need no package registry.
 *
 * @module
 */

import * as lp from "it-length-prefixed";
import { encodeFrames, FrameBatchEncoder, FrameDecoder, FrameFormat } from "../../framing/mod.ts";

const CHUNK = 64 * 1024;
const STREAM_BYTES = 8 * 1024 * 1024;
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "0.8");
const VARINT = new FrameFormat({ lengthFormat: "varint" });

function measure(fn: () => number): number {
  fn();
  fn();
  let passes = 0;
  const start = performance.now();
  let now = start;
  while (now - start < SECONDS * 1000) {
    if (fn() <= 0) throw new Error("nothing done");
    passes++;
    now = performance.now();
  }
  return passes / ((now - start) / 1000);
}

const rows: string[][] = [];
for (const payload of [16, 1024]) {
  const count = Math.floor(STREAM_BYTES / (payload + 2));
  const payloads = Array.from({ length: count }, () => new Uint8Array(payload).fill(0x61));
  const wire = encodeFrames(payloads, VARINT);
  // The same bytes from both encoders: the comparison is like for like.
  const theirs = [...lp.encode(payloads.slice(0, 100))].map((c) => c.subarray());
  const ours = encodeFrames(payloads.slice(0, 100), VARINT);
  if (theirs.reduce((n, c) => n + c.length, 0) !== ours.length) {
    throw new Error("the two encoders disagree");
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < wire.length; i += CHUNK) chunks.push(wire.subarray(i, i + CHUNK));

  const decodeOurs = measure(() => {
    const decoder = new FrameDecoder(VARINT);
    let n = 0;
    for (const chunk of chunks) n += decoder.push(chunk).length;
    decoder.finish();
    return n;
  });
  const decodeTheirs = measure(() => {
    let n = 0;
    for (const frame of lp.decode(chunks)) n += frame.byteLength >= 0 ? 1 : 0;
    return n;
  });
  // Encoding means producing bytes to write: our batch buffer, flushed at 64 KiB (as FramedConn
  // does), against it-length-prefixed's output turned into bytes (`subarray()`).
  const batch = new FrameBatchEncoder(VARINT);
  const encodeOurs = measure(() => {
    let n = 0;
    for (const payload of payloads) {
      batch.push(payload);
      if (batch.byteLength >= CHUNK) n += batch.flush().length;
    }
    return n + batch.flush().length;
  });
  const encodeTheirs = measure(() => {
    let n = 0;
    for (const chunk of lp.encode(payloads)) n += chunk.subarray().length;
    return n;
  });
  const label = payload >= 1024 ? `${payload / 1024} KiB` : `${payload} B`;
  const m = (perSecond: number) => ((perSecond * count) / 1e6).toFixed(2);
  rows.push([
    `decode ${label}`,
    m(decodeOurs),
    m(decodeTheirs),
    (decodeOurs / decodeTheirs).toFixed(1) + "×",
  ]);
  rows.push([
    `encode ${label}`,
    m(encodeOurs),
    m(encodeTheirs),
    (encodeOurs / encodeTheirs).toFixed(1) + "×",
  ]);
}

const header = ["varint frames", "sockkit M/s", "it-length-prefixed M/s", "sockkit / it-lp"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(
  `framing vs npm it-length-prefixed@11.0.1: ${STREAM_BYTES >> 20} MiB of varint frames, ${
    CHUNK / 1024
  } KiB chunks`,
);
console.log(line(header));
for (const row of rows) console.log(line(row));
