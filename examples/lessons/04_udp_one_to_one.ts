// Copyright 2025 the sockkit authors. MIT license.
/**
 * (d) UDP: one send is one receive — no sticky packets.
 *
 * The tutorial: "UDP is message-oriented; each recvfrom takes exactly one sendto", because the
 * receiver's socket buffer keeps a chain of datagrams, each with its own header. The same ten
 * messages go over UDP and over TCP; both receivers start reading only after the last send.
 * TCP hands over one lump; UDP hands over ten datagrams, each exactly as sent.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --unstable-net examples/lessons/04_udp_one_to_one.ts
 * ```
 *
 * @module
 */
import { openDatagram } from "../../udp/mod.ts";
import { drawBoundaryPicture, type MessageOutcome } from "../boundary_picture.ts";
import { type LessonOptions, main, readSizes, sleep, tcpPair, type Verdict } from "./_lesson.ts";

const SIZES = [5, 30, 12, 60, 8, 25, 3, 40, 16, 20];
const message = (size: number, i: number) => new Uint8Array(size).fill(0x30 + i);

/** Sends the messages as datagrams, receives them late; returns the received sizes. */
async function overUdp(): Promise<number[]> {
  await using receiver = openDatagram();
  await using sender = openDatagram();
  for (const [i, size] of SIZES.entries()) {
    await sender.send(message(size, i), receiver.addr as Deno.NetAddr);
  }
  await sleep(20); // the receiver is late, as in the TCP run
  const got: number[] = [];
  for (let i = 0; i < SIZES.length; i++) got.push((await receiver.receive()).data.length);
  return got;
}

/** The same messages on a TCP stream, read late; returns the read sizes. */
async function overTcp(): Promise<number[]> {
  await using pair = await tcpPair();
  for (const [i, size] of SIZES.entries()) await pair.client.write(message(size, i));
  await sleep(20);
  return await readSizes(pair.server, SIZES.reduce((a, b) => a + b));
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const udp = await overUdp();
  const tcp = await overTcp();
  const outcomes: MessageOutcome[] = udp.map((size, i) => size === SIZES[i] ? "whole" : "unknown");
  drawBoundaryPicture(SIZES, [
    { label: "TCP reads", reads: tcp },
    { label: "UDP", messages: outcomes },
  ], { bytesPerColumn: 3, width: 96 }).forEach((line) => log(line && "  " + line));
  log(`TCP: ${tcp.length} read(s) of ${tcp.join(", ")} bytes`);
  log(`UDP: ${udp.length} receives of ${udp.join(", ")} bytes`);
  const same = udp.length === SIZES.length && udp.every((size, i) => size === SIZES[i]);
  return {
    id: "d",
    claim: "UDP keeps message boundaries: one send = one receive",
    reproduced: same && tcp.length < SIZES.length,
    summary: `${SIZES.length} sends → ${udp.length} UDP receives of the same sizes; ` +
      `${tcp.length} TCP read(s) for the same sends`,
    data: { udp, tcp },
  };
}

if (import.meta.main) await main({ run });
