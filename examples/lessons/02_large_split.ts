// Copyright 2025 the sockkit authors. MIT license.
/**
 * (b) One large message arrives split across many reads.
 *
 * The tutorial: "when the data is longer than the MTU, TCP splits it into several packets", and
 * the receiver may take "1 KB, 2 KB, 3 KB or a few bytes at a time". The sender here makes ONE
 * write of 1 MiB; the receiver reads it with Python's `recv(1024)` and again with a 64 KiB
 * buffer. Even the big buffer needs many reads: the kernel hands over whatever has arrived.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/02_large_split.ts
 * ```
 *
 * @module
 */
import { writeAll } from "../../tcp/mod.ts";
import { drawBoundaryPicture } from "../boundary_picture.ts";
import { type LessonOptions, main, readSizes, tcpPair, type Verdict } from "./_lesson.ts";

const SIZE = 1024 * 1024;

/** One write of SIZE bytes, read with buffers of `bufferSize`; returns the read sizes. */
async function oneLargeMessage(bufferSize: number): Promise<number[]> {
  await using pair = await tcpPair();
  const [, reads] = await Promise.all([
    writeAll(pair.client, new Uint8Array(SIZE)), // one message; writeAll because write() may not take it all
    readSizes(pair.server, SIZE, bufferSize),
  ]);
  return reads;
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const small = await oneLargeMessage(1024);
  const large = await oneLargeMessage(65_536);
  log(`one message of ${SIZE} bytes, the first 256 KiB drawn:`);
  drawBoundaryPicture([SIZE], [
    { label: "recv(1024)", reads: small },
    { label: "recv(65536)", reads: large },
  ], { bytesPerColumn: 4096, maxSpan: 80, maxBytes: 262_144, width: 96 })
    .forEach((line) => log(line && "  " + line));
  log(
    `recv(1024): ${small.length} reads; recv(65536): ${large.length} reads, ` +
      `from ${Math.min(...large)} to ${Math.max(...large)} bytes`,
  );
  return {
    id: "b",
    claim: "a large message is split across reads",
    reproduced: small.length >= SIZE / 1024 && large.length > 1,
    summary: `1 write of 1 MiB → ${small.length} reads of recv(1024), ${large.length} reads ` +
      `of recv(65536) (largest ${Math.max(...large)} B)`,
    data: { small: small.length, large },
  };
}

if (import.meta.main) await main({ run });
