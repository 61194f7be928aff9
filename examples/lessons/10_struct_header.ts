// Copyright 2025 the sockkit authors. MIT license.
/**
 * (j) Fix 2: a fixed 4-byte header, Python's `struct.pack('i', len(data))`, and its range.
 *
 * The tutorial: "struct turns the length into 4 bytes; receive 4 bytes, unpack the length,
 * then receive exactly that much", and `struct.pack('i', 1111111111111)` fails with
 * "'i' format requires -2147483648 <= number <= 2147483647". sockkit's `i32le` length format
 * is that header. The lesson shows its bytes, sends three messages through a relay that cuts
 * the stream into 1-7-byte writes (so every header is split somewhere) and gets them back whole
 * with `FrameDecoder`, then shows the range: 2^31−1 is encoded, 2^31 refused, and a header whose
 * sign bit is set (a negative length) is refused when received.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/10_struct_header.ts
 * ```
 *
 * @module
 */
import {
  CorruptFrameError,
  encodeFrame,
  FRAME_PRESETS,
  FrameDecoder,
  FrameFormat,
  FrameTooLargeError,
} from "../../framing/mod.ts";
import { startTcpRelay, type TcpRelay, writeAll } from "../../tcp/mod.ts";
import { type LessonOptions, main, tcpPair, type Verdict } from "./_lesson.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
const text = new TextEncoder();

/** Three i32le frames through a relay slicing 1-7 bytes; returns the decoded messages and reads. */
async function throughSlicer(messages: string[]): Promise<{ got: string[]; reads: number }> {
  const via: { relay?: TcpRelay } = {};
  await using pair = await tcpPair(async (server) => {
    via.relay = await startTcpRelay({ target: server, slice: [1, 7], jitter: 1, seed: 10 });
    return via.relay.addr;
  });
  await using _relay = via.relay;
  const frames = messages.map((m) => encodeFrame(text.encode(m), FRAME_PRESETS.python));
  const total = frames.reduce((n, f) => n + f.length, 0);
  const decoder = new FrameDecoder(FRAME_PRESETS.python);
  const got: string[] = [];
  const buffer = new Uint8Array(1024);
  let reads = 0;
  const reader = (async () => {
    for (let seen = 0; seen < total; reads++) {
      const n = (await pair.server.read(buffer))!;
      seen += n;
      for (const frame of decoder.push(buffer.slice(0, n))) {
        got.push(new TextDecoder().decode(frame));
      }
    }
  })();
  for (const frame of frames) await writeAll(pair.client, frame);
  await reader;
  return { got, reads };
}

/** What the i32le header does at and past 2^31−1. */
function range(): { max: string; over: string; negative: string } {
  const format = new FrameFormat({
    lengthFormat: "i32le",
    maxFrameLength: Number.MAX_SAFE_INTEGER,
  });
  const header = new Uint8Array(4);
  // A stand-in that only has a length: allocating 2 GiB for a lesson would be silly.
  const payloadOf = (length: number) => ({ length }) as Uint8Array;
  format.writeHeader(header, 0, payloadOf(2 ** 31 - 1));
  const max = hex(header);
  let over = "encoded!";
  try {
    format.writeHeader(header, 0, payloadOf(2 ** 31));
  } catch (error) {
    if (error instanceof FrameTooLargeError) over = `refused: ${error.message}`;
  }
  let negative = "accepted!";
  try {
    new FrameDecoder(FRAME_PRESETS.python).push(new Uint8Array([0x00, 0x00, 0x00, 0x80]));
  } catch (error) {
    if (error instanceof CorruptFrameError) negative = `refused: ${error.message}`;
  }
  return { max, over, negative };
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const hello = encodeFrame(text.encode("hello"), FRAME_PRESETS.python);
  log(`"hello" framed as struct.pack('i', 5) + data: ${hex(hello)}`);
  const messages = ["dir", "x".repeat(300), "ok"];
  const { got, reads } = await throughSlicer(messages);
  log(
    `3 frames (${messages.map((m) => m.length)} B) through 1-7-byte writes: ${reads} reads → ` +
      `${got.length} messages, ${got.every((m, i) => m === messages[i]) ? "all whole" : "WRONG"}`,
  );
  const r = range();
  log(`length 2^31−1 → header ${r.max}`);
  log(`length 2^31   → ${r.over}`);
  log(`header 00 00 00 80 (−2^31) received → ${r.negative}`);
  const whole = got.length === 3 && got.every((m, i) => m === messages[i]);
  return {
    id: "j",
    claim: "fix 2: a 4-byte struct header frames the stream; 2^31−1 is its limit",
    reproduced: hex(hello) === "05 00 00 00 68 65 6c 6c 6f" && whole && r.max === "ff ff ff 7f" &&
      r.over.startsWith("refused") && r.negative.startsWith("refused"),
    summary: `"hello" → ${hex(hello.subarray(0, 4))} + 5 B; 3 frames cut into ${reads} reads ` +
      `came back whole; 2^31−1 → ${r.max}, 2^31 refused, negative header refused`,
    data: { reads, got, range: r },
  };
}

if (import.meta.main) await main({ run });
