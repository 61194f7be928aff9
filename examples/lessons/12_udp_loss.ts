// Copyright 2025 the sockkit authors. MIT license.
/**
 * (l) UDP loses datagrams, and nobody tells you.
 *
 * The tutorial: "UDP does not stick packets, but it loses data: it is unreliable." Loopback
 * never drops a datagram on the wire, but the receiver's socket buffer is finite: part 1 sends
 * 2000 datagrams of 1 KiB to a socket that is not reading, and the kernel drops what does not
 * fit — real loss, no error anywhere. Part 2 shows loss as a network makes it, on purpose and
 * reproducibly: sockkit's UDP relay drops 10% of 1000 numbered datagrams (seed 12), and the
 * receiver finds exactly the numbers the relay's log says it dropped.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --unstable-net examples/lessons/12_udp_loss.ts
 * ```
 *
 * @module
 */
import { openDatagram, startUdpRelay } from "../../udp/mod.ts";
import { type LessonOptions, main, sleep, type Verdict } from "./_lesson.ts";

/** Receives until `idle` ms pass without a datagram; returns the first 4 bytes of each as a number. */
async function drain(socket: ReturnType<typeof openDatagram>, idle: number): Promise<number[]> {
  const got: number[] = [];
  try {
    for (;;) {
      const { data } = await socket.receive({ timeout: idle });
      got.push(new DataView(data.buffer, data.byteOffset).getUint32(0));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.TimedOut)) throw error;
  }
  return got;
}

function numbered(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, i);
  return bytes;
}

/** Part 1: a burst into a socket that is not reading. */
async function overflow(count: number): Promise<number> {
  await using receiver = openDatagram();
  await using sender = openDatagram();
  for (let i = 0; i < count; i++) {
    await sender.send(numbered(i, 1024), receiver.addr as Deno.NetAddr);
  }
  return (await drain(receiver, 200)).length;
}

/** Part 2: 10% loss through the relay; returns the missing numbers and the relay's record. */
async function throughRelay(count: number) {
  await using receiver = openDatagram();
  await using relay = await startUdpRelay({
    target: receiver.addr as Deno.NetAddr,
    loss: 0.1,
    seed: 12,
  });
  await using sender = openDatagram();
  const receiving = drain(receiver, 300);
  for (let i = 0; i < count; i++) {
    await sender.send(numbered(i, 64), relay.addr);
    // Paced: never more than 16 datagrams ahead of the relay, so no socket buffer overflows.
    while (i - relay.stats.up.received > 16) await sleep(1);
  }
  const got = new Set(await receiving);
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !got.has(i));
  const logged = relay.log.filter((entry) => entry.lost).map((entry) => entry.seq);
  return { missing, logged };
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const burst = 2000;
  const received = await overflow(burst);
  log(
    `part 1: ${burst} datagrams of 1 KiB sent to a socket not reading: ${received} received, ` +
      `${burst - received} dropped by the kernel, every send reported success`,
  );
  const { missing, logged } = await throughRelay(1000);
  const same = missing.length === logged.length && missing.every((n, i) => n === logged[i]);
  log(
    `part 2: relay with --loss 0.1 --seed 12: ${missing.length} of 1000 missing ` +
      `(${missing.slice(0, 8).join(", ")}, …); the relay's log lists ${
        same ? "the same" : "OTHER"
      } numbers`,
  );
  return {
    id: "l",
    claim: "UDP loses datagrams without an error",
    reproduced: received < burst && missing.length > 50 && missing.length < 150 && same,
    summary: `burst of ${burst} into a non-reading socket: ${burst - received} lost; relay ` +
      `loss 0.1: ${missing.length}/1000 lost, ${same ? "exactly" : "NOT"} those it logged`,
    data: { burst, received, missing, logged },
  };
}

if (import.meta.main) await main({ run });
