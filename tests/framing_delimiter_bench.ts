/**
 * Delimiter framing benchmark: sockkit's `DelimiterDecoder` (LF) beside the logic of Deno std's
 * `DelimiterStream` written plainly (a byte-by-byte scan that keeps the rest of each chunk and
 * joins them at a delimiter; no stream overhead) and a minimal hand loop (native `indexOf`,
 * views, one join for a line across chunks). All three hand each chunk's lines over in an array.
 * Interleaved rounds in one process; prints each round's ratios and their range.
 *
 * Run: `deno task bench framing_delimiter` (`BENCH_ROUNDS`, `BENCH_SECONDS` to change the effort).
 *
 * @module
 */

import { concatBytes, DelimiterDecoder } from "../framing/mod.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "5");
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "0.4");
const LF = 0x0a;

type Decode = (chunks: Uint8Array[]) => number;

/** std `DelimiterStream`'s single-byte path (`#handleChar`), as plain code. */
function stdStyle(chunks: Uint8Array[]): number {
  const bufs: Uint8Array[] = [];
  let sum = 0;
  for (const chunk of chunks) {
    const out: Uint8Array[] = [];
    const length = chunk.length;
    let chunkStart = 0;
    let inspectIndex = 0;
    while (inspectIndex < length) {
      if (chunk[inspectIndex] === LF) {
        inspectIndex++;
        const end = inspectIndex - 1;
        if (bufs.length === 0) {
          out.push(chunk.subarray(chunkStart, end));
        } else {
          bufs.push(chunk.subarray(chunkStart, end));
          out.push(concatBytes(bufs));
          bufs.length = 0;
        }
        chunkStart = inspectIndex;
      } else {
        inspectIndex++;
      }
    }
    if (chunkStart === 0) bufs.push(chunk);
    else if (chunkStart < length) bufs.push(chunk.subarray(chunkStart));
    for (let i = 0; i < out.length; i++) sum += out[i].length + 1;
  }
  return sum;
}

/** The ceiling: LF only, native indexOf, views, carried parts joined once. */
function handLoop(chunks: Uint8Array[]): number {
  const carry: Uint8Array[] = [];
  let sum = 0;
  for (const chunk of chunks) {
    const out: Uint8Array[] = [];
    let start = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      if (carry.length === 0) out.push(chunk.subarray(start, i));
      else {
        carry.push(chunk.subarray(start, i));
        out.push(concatBytes(carry));
        carry.length = 0;
      }
      start = i + 1;
    }
    if (start < chunk.length) carry.push(start === 0 ? chunk : chunk.subarray(start));
    for (let i = 0; i < out.length; i++) sum += out[i].length + 1;
  }
  return sum;
}

function sockkit(chunks: Uint8Array[]): number {
  const decoder = new DelimiterDecoder();
  let sum = 0;
  for (const chunk of chunks) {
    const out = decoder.push(chunk);
    for (let i = 0; i < out.length; i++) sum += out[i].length + 1;
  }
  decoder.finish();
  return sum;
}

function makeCase(line: number, total: number, chunk: number) {
  const lines = Math.max(1, Math.floor(total / (line + 1)));
  const wire = new Uint8Array(lines * (line + 1)).fill(0x61);
  for (let i = line; i < wire.length; i += line + 1) wire[i] = LF;
  const chunks: Uint8Array[] = [];
  // Socket reads come in buffers of their own; 1-byte chunks stay views (8 M buffers would not fit).
  for (let i = 0; i < wire.length; i += chunk) {
    chunks.push(chunk >= 4096 ? wire.slice(i, i + chunk) : wire.subarray(i, i + chunk));
  }
  return { chunks, bytes: wire.length, lines };
}

/** Passes per second of `fn` over `chunks` for about SECONDS (at least 2 passes). */
function measure(fn: Decode, chunks: Uint8Array[], bytes: number): number {
  if (fn(chunks) !== bytes) throw new Error(`${fn.name} decoded the wrong number of bytes`);
  let passes = 0;
  const start = performance.now();
  let now = start;
  while (passes < 2 || now - start < SECONDS * 1000) {
    fn(chunks);
    passes++;
    now = performance.now();
  }
  return passes / ((now - start) / 1000);
}

const MiB = 1024 * 1024;
const cases = [
  { name: "16 B lines, 64 KiB chunks", ...makeCase(16, 16 * MiB, 64 * 1024) },
  { name: "1 KiB lines, 64 KiB chunks", ...makeCase(1024, 16 * MiB, 64 * 1024) },
  { name: "8 MiB line, 64 KiB chunks", ...makeCase(8 * MiB, 8 * MiB + 1, 64 * 1024) },
  { name: "8 MiB line, 1 B chunks", ...makeCase(8 * MiB, 8 * MiB + 1, 1) },
];
const fns: Decode[] = [sockkit, stdStyle, handLoop];
const results = cases.map(() => fns.map(() => [] as number[]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [c, item] of cases.entries()) {
    // Rotate the order each round so no contender always runs first.
    for (let k = 0; k < fns.length; k++) {
      const f = (k + round) % fns.length;
      results[c][f].push(measure(fns[f], item.chunks, item.bytes));
    }
  }
}

const range = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)].toFixed(2)} (${s[0].toFixed(2)}–${
    s[s.length - 1].toFixed(2)
  })`;
};
const rows = cases.map((item, c) => {
  const [ours, std, hand] = results[c];
  const mbps = (xs: number[]) => Math.max(...xs) * item.bytes / 1e6;
  return [
    item.name,
    mbps(ours).toFixed(0),
    mbps(std).toFixed(0),
    mbps(hand).toFixed(0),
    range(ours.map((x, i) => x / std[i])),
    range(ours.map((x, i) => x / hand[i])),
  ];
});
const header = [
  "case",
  "sockkit MB/s",
  "std-style MB/s",
  "hand MB/s",
  "sockkit/std median (range)",
  "sockkit/hand median (range)",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) =>
  cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
console.log(
  `delimiter framing (LF): ${ROUNDS} interleaved rounds, best MB/s, per-round ratios (>1: sockkit faster)`,
);
console.log(line(header));
for (const row of rows) console.log(line(row));
