// Copyright 2025 the sockkit authors. MIT license.
/**
 * (i) Fix 1, "send the length first", and what its extra round trip costs, beside fix 2.
 *
 * The tutorial's first fix sends the length, then the data, and warns: "the program runs much
 * faster than the network, so sending the length with its own send amplifies the network
 * delay." Two measurements, each as rounds alternating fix 1 and fix 2 (this machine is shared,
 * so they are compared side by side, never against a fixed number):
 *
 * 1. The tutorial's handshake — length, wait for "ready", data — through sockkit's TCP relay
 *    adding 5 ms each way (a 10 ms round trip, like a nearby server): fix 1 pays two round trips
 *    per message, fix 2 (a 4-byte header and the data in one send) one.
 * 2. No handshake, just two sends, with Nagle on as Python has it, on plain loopback: the data's
 *    send waits for the ACK of the length's, which the receiver delays (~40 ms on Linux).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/09_length_first.ts
 * ```
 *
 * @module
 */
import { encodeFrame, FRAME_PRESETS } from "../../framing/mod.ts";
import { startTcpRelay, type TcpRelay, writeAll } from "../../tcp/mod.ts";
import {
  type LessonOptions,
  main,
  median,
  ms,
  readExactly,
  tcpPair,
  type Verdict,
} from "./_lesson.ts";

const MESSAGES = 8;
const payload = new Uint8Array(100).fill(0x78);
const lengthOf = (bytes: Uint8Array) =>
  new DataView(bytes.buffer, bytes.byteOffset).getInt32(0, true);

type Style = "length, ready, data" | "length, data" | "header+data";

/** Sends MESSAGES messages the given way, each answered "done"; returns ms per message. */
async function exchange(style: Style, latency?: number): Promise<number[]> {
  const via: { relay?: TcpRelay } = {};
  await using pair = await tcpPair(async (server) => {
    if (latency === undefined) return server;
    via.relay = await startTcpRelay({ target: server, latency }); // delays each byte, both ways
    return via.relay.addr;
  });
  await using _relay = via.relay;
  const server = (async () => {
    for (let i = 0; i < MESSAGES; i++) {
      const length = lengthOf(await readExactly(pair.server, 4));
      if (style === "length, ready, data") {
        await pair.server.write(new TextEncoder().encode("ready"));
      }
      await readExactly(pair.server, length);
      await pair.server.write(new TextEncoder().encode("done"));
    }
  })();
  const times: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const start = performance.now();
    const frame = encodeFrame(payload, FRAME_PRESETS.python); // 4-byte i32le length + data
    if (style === "header+data") await writeAll(pair.client, frame);
    else {
      await writeAll(pair.client, frame.subarray(0, 4));
      if (style === "length, ready, data") await readExactly(pair.client, 5);
      await writeAll(pair.client, frame.subarray(4));
    }
    await readExactly(pair.client, 4); // "done"
    times.push(performance.now() - start);
  }
  await server;
  return times;
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const results: Record<string, number[]> = {};
  const add = (key: string, times: number[]) => (results[key] ??= []).push(...times);
  for (let round = 0; round < 2; round++) {
    add("relay fix 1", await exchange("length, ready, data", 5));
    add("relay fix 2", await exchange("header+data", 5));
    add("nagle fix 1", await exchange("length, data"));
    add("nagle fix 2", await exchange("header+data"));
  }
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const ratioRelay = m["relay fix 1"] / m["relay fix 2"];
  const ratioNagle = m["nagle fix 1"] / m["nagle fix 2"];
  log(`median per message over ${2 * MESSAGES} messages, rounds interleaved:`);
  log(
    `  relay, 5 ms each way:  fix 1 (length, "ready", data) ${ms(m["relay fix 1"])}` +
      `   fix 2 (header+data) ${ms(m["relay fix 2"])}   ×${ratioRelay.toFixed(2)}`,
  );
  log(
    `  loopback, Nagle on:    fix 1 (length, data)          ${ms(m["nagle fix 1"])}` +
      `   fix 2 (header+data) ${ms(m["nagle fix 2"])}   ×${ratioNagle.toFixed(1)}`,
  );
  return {
    id: "i",
    claim: "fix 1 (length as its own send) costs an extra round trip",
    reproduced: ratioRelay > 1.5 && ratioNagle > 3,
    summary: `with 10 ms RTT: ${ms(m["relay fix 1"])} vs ${ms(m["relay fix 2"])} per message ` +
      `(×${ratioRelay.toFixed(2)}); loopback + Nagle: ${ms(m["nagle fix 1"])} vs ` +
      `${ms(m["nagle fix 2"])} (×${ratioNagle.toFixed(0)})`,
    data: { results, medians: m },
  };
}

if (import.meta.main) await main({ run });
