// Copyright 2025 the sockkit authors. MIT license.
/**
 * (o) The other cure — a delimiter — and when it breaks, next to the length prefix.
 *
 * Instead of a length before each message, put a delimiter after it (a newline: SMTP, Redis
 * inline commands, JSON lines). Over one TCP connection on loopback: messages sent back to back
 * (TCP merges them) come apart again at the newlines. Then one payload holds a newline itself,
 * and the receiver cuts it in two: the delimiter cure only holds for payloads that never contain
 * the delimiter (sockkit's encoder refuses them). The length prefix carries the same payloads
 * intact, newline and all.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/15_delimiter.ts
 * ```
 *
 * @module
 */
import {
  concatBytes,
  DelimiterDecoder,
  DelimiterEncoder,
  DelimiterInPayloadError,
  encodeFrames,
  FrameDecoder,
  type StreamDecoder,
} from "../../framing/mod.ts";
import { writeAll } from "../../tcp/mod.ts";
import { type LessonOptions, main, tcpPair, type Verdict } from "./_lesson.ts";

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const newline = utf8.encode("\n");

/** Sends `wire` in one write over a loopback connection; decodes what arrives with `decoder`. */
async function overTcp(wire: Uint8Array, decoder: StreamDecoder) {
  await using pair = await tcpPair();
  const { client, server } = pair;
  const sending = writeAll(client, wire).then(() => client.closeWrite());
  const frames: string[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let reads = 0;
  for (let n = await server.read(buffer); n !== null; n = await server.read(buffer)) {
    reads++;
    // The buffer is reused: frames are views of it, so they are turned into text at once.
    for (const frame of decoder.push(buffer.slice(0, n))) frames.push(text(frame));
  }
  await sending;
  for (const frame of decoder.finish()) frames.push(text(frame));
  return { frames, reads };
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const clean = Array.from({ length: 200 }, (_, i) => `message ${i}: hello`);
  const dirty = [...clean.slice(0, 3), "a poem:\nroses are red", ...clean.slice(3, 6)];

  // 1. Clean payloads, a newline after each, all in one write.
  const encoder = new DelimiterEncoder();
  const lines = await overTcp(encoder.encodeAll(clean), new DelimiterDecoder());
  const cured = lines.frames.join("\u0000") === clean.join("\u0000");
  log(`1. ${clean.length} lines in one write arrived in ${lines.reads} read(s): the reads merge`);
  log(`   them, the newlines part them again: ${lines.frames.length} messages, intact: ${cured}`);

  // 2. One payload holds a newline; sent as is (payload + "\n"), the receiver cuts it there.
  const naive = dirty.flatMap((m) => [utf8.encode(m), newline]);
  const broken = await overTcp(concatBytes(naive), new DelimiterDecoder());
  const split = broken.frames.length !== dirty.length;
  log(`2. ${dirty.length} messages, one of them "a poem:\\nroses are red", sent as lines:`);
  log(`   ${broken.frames.length} arrived: ${JSON.stringify(broken.frames.slice(2, 6))}`);

  // 3. The encoder refuses such a payload rather than send something that decodes differently.
  let refused = false;
  try {
    encoder.encode(dirty[3]);
  } catch (error) {
    refused = error instanceof DelimiterInPayloadError;
    log(`3. DelimiterEncoder refuses it: ${(error as Error).message}`);
  }

  // 4. The length prefix says where each message ends, whatever its bytes: nothing to escape.
  const framed = await overTcp(encodeFrames(dirty.map((m) => utf8.encode(m))), new FrameDecoder());
  const intact = framed.frames.join("\u0000") === dirty.join("\u0000");
  log(
    `4. the same ${dirty.length} messages with a length prefix: ${framed.frames.length}` +
      ` arrived, the poem whole: ${intact}`,
  );

  return {
    id: "o",
    claim: "a delimiter cures sticky packets too, until a payload holds the delimiter",
    reproduced: cured && split && refused && intact,
    summary: `${clean.length} lines in ${lines.reads} read(s) came apart intact; ` +
      `${dirty.length} messages with a newline in one came out as ${broken.frames.length}; ` +
      `the length prefix gave ${framed.frames.length}, intact`,
    data: { lines, broken, framed: framed.frames.length, refused },
  };
}

if (import.meta.main) await main({ run });
