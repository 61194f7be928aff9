/**
 * What the framing decode benchmarks share (`tests/framing_bench.ts` and the decode role of
 * `tests/bench_other_roles.ts`): a stream of back-to-back frames cut into 64 KiB chunks, the
 * sockkit decoder over it, and the hand-written ceiling it is measured against.
 *
 * @module
 */

import { encodeFrame, FrameDecoder } from "../framing/mod.ts";

/** The size of the chunks a stream is fed in. */
export const CHUNK = 64 * 1024;

/** Back-to-back frames of `payload` bytes, about `bytes` in all (at least one), in CHUNK pieces. */
export function frameStream(
  payload: number,
  bytes: number,
): { chunks: Uint8Array[]; frames: number; bytes: number } {
  const frame = encodeFrame(new Uint8Array(payload).fill(0x61));
  const frames = Math.max(1, Math.floor(bytes / frame.length));
  const wire = new Uint8Array(frames * frame.length);
  for (let i = 0; i < frames; i++) wire.set(frame, i * frame.length);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < wire.length; i += CHUNK) chunks.push(wire.subarray(i, i + CHUNK));
  return { chunks, frames, bytes: wire.length };
}

/** One pass of a fresh `FrameDecoder` over `chunks`; the payload bytes decoded. */
export function sockkitDecode(chunks: Uint8Array[]): number {
  const decoder = new FrameDecoder();
  let sum = 0;
  for (const chunk of chunks) {
    const frames = decoder.push(chunk);
    for (let i = 0; i < frames.length; i++) sum += frames[i].length;
  }
  decoder.finish();
  return sum;
}

/**
 * The ceiling: u32be only, views for frames inside a chunk, one copy for a straddling frame. Like
 * the decoder, it hands each chunk's frames to the consumer in an array (a loop that only summed
 * lengths would let V8 skip creating the views, which no real decoder can do).
 */
export function handLoop(chunks: Uint8Array[]): number {
  let sum = 0;
  let carry: Uint8Array | null = null;
  for (let chunk of chunks) {
    if (carry !== null) {
      const joined: Uint8Array = new Uint8Array(carry.length + chunk.length);
      joined.set(carry);
      joined.set(chunk, carry.length);
      chunk = joined;
      carry = null;
    }
    let pos = 0;
    const end = chunk.length;
    const frames: Uint8Array[] = [];
    while (end - pos >= 4) {
      const n = chunk[pos] * 0x1000000 +
        ((chunk[pos + 1] << 16) | (chunk[pos + 2] << 8) | chunk[pos + 3]);
      if (end - pos - 4 < n) break;
      frames.push(chunk.subarray(pos + 4, pos + 4 + n));
      pos += 4 + n;
    }
    for (let i = 0; i < frames.length; i++) sum += frames[i].length;
    if (pos < end) carry = chunk.subarray(pos);
  }
  return sum;
}
