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
 * The first round is left out: Linux acknowledges at once at the start of a connection. The
 * pauses must stay short: if this machine's load stretches them past the delayed ACK, nothing
 * waits to be merged, and the lesson says so and tries again (at most 5 times).
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
import * as lesson from "./_lesson.ts";
const { main, median, ms, readSizes, sleep, tcpPair } = lesson;

const ROUNDS = 8;
const ATTEMPTS = 5;
const MESSAGES = 20;
const SIZE = 10;

/** Rounds of small writes 1 ms apart, each answered: the reads per round, the ms per round. */
async function smallWrites(noDelay: boolean): Promise<{ rounds: number[][]; ms: number }> {
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
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      await pair.client.write(message);
      await sleep(1);
    }
    times.push(performance.now() - start);
    await pair.client.read(new Uint8Array(1));
  }
  return { rounds: await receiver, ms: median(times) };
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
export async function run(options: lesson.LessonOptions = {}): Promise<lesson.Verdict> {
  const log = options.log ?? (() => {});
  // On a loaded machine the 1 ms pauses can stretch past the ~40 ms delayed ACK, and then
  // nothing is left to merge: such an attempt is said so and run again (at most ATTEMPTS).
  let on, off, readsOn = 0, readsOff = 0, attempt = 0;
  do {
    [on, off] = [await smallWrites(false), await smallWrites(true)];
    readsOn = median(on.rounds.slice(1).map((reads) => reads.length));
    readsOff = median(off.rounds.slice(1).map((reads) => reads.length));
    log(
      `attempt ${++attempt}: the ${MESSAGES} writes took ${ms(on.ms)} (Nagle on), ` +
        `${ms(off.ms)} (off) per round`,
    );
  } while (!(readsOn <= MESSAGES / 2 && readsOff >= MESSAGES * 0.8) && attempt < ATTEMPTS);
  const [nagleOn, nagleOff] = [on.rounds, off.rounds];
  const late = await lateReceiver();
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
      `off (prompt reader); ${late.length} read(s) for a late reader with Nagle off` +
      (attempt > 1 ? ` (attempt ${attempt} of ${ATTEMPTS})` : ""),
    data: { nagleOn, nagleOff, late, readsOn, readsOff, attempt },
  };
}

if (import.meta.main) await main({ run });
