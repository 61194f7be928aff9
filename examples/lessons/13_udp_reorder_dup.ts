// Copyright 2025 the sockkit authors. MIT license.
/**
 * (m) UDP may reorder and duplicate datagrams — shown through the relay.
 *
 * The tutorial: "datagrams may not arrive in the order sent, and the network may even deliver
 * duplicates." Loopback never does either: first, 1000 numbered datagrams go straight to the
 * receiver and arrive in order, once each. Then they go through sockkit's UDP relay set to
 * reorder 10% (a datagram is held back and sent after the next one) and duplicate 5%, with
 * seed 13: the receiver counts late and repeated numbers and matches them against the relay's
 * record of what it did.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --unstable-net examples/lessons/13_udp_reorder_dup.ts
 * ```
 *
 * @module
 */
import { type DatagramSocket, openDatagram, startUdpRelay, type UdpRelay } from "../../udp/mod.ts";
import { type LessonOptions, main, sleep, type Verdict } from "./_lesson.ts";

const COUNT = 1000;

/** Receives numbered datagrams until 300 ms of silence; counts late and repeated numbers. */
async function count(
  socket: DatagramSocket,
): Promise<{ late: number; repeated: number; got: number }> {
  const seen = new Set<number>();
  let late = 0, repeated = 0, got = 0, highest = -1;
  try {
    for (;;) {
      const { data } = await socket.receive({ timeout: 300 });
      const n = new DataView(data.buffer, data.byteOffset).getUint32(0);
      got++;
      if (seen.has(n)) repeated++;
      else if (n < highest) late++;
      seen.add(n);
      highest = Math.max(highest, n);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.TimedOut)) throw error;
  }
  return { late, repeated, got };
}

/** Sends COUNT numbered datagrams to `to`, paced so no socket buffer overflows. */
async function sendNumbered(
  to: Deno.NetAddr | { hostname: string; port: number },
  relay?: UdpRelay,
) {
  await using sender = openDatagram();
  const bytes = new Uint8Array(32);
  for (let i = 0; i < COUNT; i++) {
    new DataView(bytes.buffer).setUint32(0, i);
    await sender.send(bytes, to);
    if (i % 16 === 15) await sleep(relay ? 0 : 1);
    while (relay && i - relay.stats.up.received > 16) await sleep(1);
  }
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  await using receiver = openDatagram();
  const to = receiver.addr as Deno.NetAddr;
  const direct = count(receiver);
  await sendNumbered(to);
  const plain = await direct;
  log(
    `straight over loopback: ${plain.got} received, ${plain.late} late, ${plain.repeated} repeated`,
  );

  await using relay = await startUdpRelay({ target: to, reorder: 0.1, duplicate: 0.05, seed: 13 });
  const relayed = count(receiver);
  await sendNumbered(relay.addr, relay);
  const seen = await relayed;
  const { reordered, duplicated } = relay.stats.up;
  // A held datagram that was also duplicated had one copy go early: its late copy is a repeat.
  const lateExpected = relay.log.filter((e) => e.reordered && !e.duplicated).length;
  log(
    `through the relay (--reorder 0.1 --duplicate 0.05 --seed 13): ${seen.got} received, ` +
      `${seen.late} late, ${seen.repeated} repeated`,
  );
  log(`the relay's record: ${reordered} held back and overtaken, ${duplicated} sent twice`);
  const matches = seen.repeated === duplicated && seen.late === lateExpected;
  return {
    id: "m",
    claim: "UDP may reorder and duplicate datagrams",
    reproduced: plain.late === 0 && plain.repeated === 0 && plain.got === COUNT && matches &&
      reordered > 50 && duplicated > 20,
    summary: `loopback: ${plain.late} late, ${plain.repeated} repeated of ${COUNT}; relay: ` +
      `${seen.late} late (${(seen.late / COUNT * 100).toFixed(1)}%), ${seen.repeated} repeated ` +
      `(${(seen.repeated / COUNT * 100).toFixed(1)}%), ${
        matches ? "matching" : "NOT matching"
      } its log`,
    data: { plain, seen, reordered, duplicated },
  };
}

if (import.meta.main) await main({ run });
