// Copyright 2025 the sockkit authors. MIT license.
/**
 * (a) Sticky packets made by the sender (Nagle's algorithm) and by a late receiver, told apart.
 *
 * The tutorial: "TCP uses the Nagle algorithm to merge several small sends made at short
 * intervals into one segment" — and, separately, "the receiver does not take the data in time".
 *
 * Part 1 changes only Nagle. The receiver reads at once, every time; the sender writes 20
 * messages of 10 bytes, 1 ms apart, then waits for a 1-byte reply (an interactive exchange,
 * like the tutorial's ssh-like program). With Nagle on, a small write waits while an earlier one
 * is unacknowledged, and the receiver delays its ACKs (~40 ms on Linux), so messages 2..20 leave
 * as one segment. With Nagle off (`setNoDelay(true)`) each write leaves at once: 20 reads.
 * The first round is left out: Linux acknowledges at once at the start of a connection.
 *
 * Part 2 turns Nagle off and makes the receiver late instead: it reads only after all 20 writes.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/01_nagle_merge.ts
 * ```
 *
 * @module
 */
import { drawBoundaryPicture } from "../boundary_picture.ts";
import {
  type LessonOptions,
  main,
  median,
  readSizes,
  sleep,
  tcpPair,
  type Verdict,
} from "./_lesson.ts";

const ROUNDS = 6;
const MESSAGES = 20;
const SIZE = 10;

/** Rounds of small writes 1 ms apart, each answered; returns the receiver's read sizes per round. */
async function smallWrites(noDelay: boolean): Promise<number[][]> {
  await using pair = await tcpPair();
  pair.client.setNoDelay(noDelay); // the only difference between the two runs
  const receiver = (async () => {
    const rounds: number[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push(await readSizes(pair.server, MESSAGES * SIZE)); // reads as soon as bytes are there
      await pair.server.write(new Uint8Array([1])); // the reply
    }
    return rounds;
  })();
  const message = new Uint8Array(SIZE).fill(0x61);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < MESSAGES; i++) {
      await pair.client.write(message);
      await sleep(1);
    }
    await pair.client.read(new Uint8Array(1));
  }
  return await receiver;
}

/** The same 20 writes with Nagle off, read only once all were written. */
async function lateReceiver(): Promise<number[]> {
  await using pair = await tcpPair();
  pair.client.setNoDelay(true);
  const message = new Uint8Array(SIZE).fill(0x61);
  for (let i = 0; i < MESSAGES; i++) {
    await pair.client.write(message);
    await sleep(1);
  }
  await sleep(20); // the receiver was busy elsewhere
  return await readSizes(pair.server, MESSAGES * SIZE);
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const nagleOn = await smallWrites(false);
  const nagleOff = await smallWrites(true);
  const late = await lateReceiver();
  const readsOn = median(nagleOn.slice(1).map((reads) => reads.length));
  const readsOff = median(nagleOff.slice(1).map((reads) => reads.length));
  const messages = Array<number>(MESSAGES).fill(SIZE);
  log(`${MESSAGES} messages of ${SIZE} bytes, 1 ms apart, receiver reading at once (round 2):`);
  const picture = drawBoundaryPicture(messages, [
    { label: "Nagle on", reads: nagleOn[1] },
    { label: "Nagle off", reads: nagleOff[1] },
    { label: "late reader", reads: late },
  ], { bytesPerColumn: 3, width: 96 });
  picture.forEach((line) => log(line && "  " + line));
  log(`reads per round (rounds 2-${ROUNDS}): Nagle on ${nagleOn.slice(1).map((r) => r.length)}`);
  log(`                              Nagle off ${nagleOff.slice(1).map((r) => r.length)}`);
  log(`late receiver, Nagle off: ${late.length} read(s) of ${late.join(", ")} bytes`);
  const reproduced = readsOn <= MESSAGES / 2 && readsOff >= MESSAGES * 0.8 && late.length <= 2;
  return {
    id: "a",
    claim: "small sends merge (sender: Nagle; receiver: late reads)",
    reproduced,
    summary: `${MESSAGES} writes → median ${readsOn} reads with Nagle on, ${readsOff} with Nagle ` +
      `off (prompt reader); ${late.length} read(s) for a late reader with Nagle off`,
    data: { nagleOn, nagleOff, late, readsOn, readsOff },
  };
}

if (import.meta.main) await main({ run });
