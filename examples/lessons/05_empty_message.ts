// Copyright 2025 the sockkit authors. MIT license.
/**
 * (e) The empty message: UDP delivers it, TCP's vanishes.
 *
 * The tutorial: "TCP cannot send an empty message, so both sides need code for it or the
 * program hangs; UDP can send empty content, the protocol adds a header for you." Here a TCP
 * client writes 0 bytes and the server waits 200 ms for it: nothing arrives (the tutorial's
 * server would hang in `recv`). The next message, "next", arrives alone: the empty one left no
 * trace. Over UDP the empty datagram arrives as a receive of 0 bytes. A framed connection
 * carries it too (a 4-byte header saying 0).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --unstable-net examples/lessons/05_empty_message.ts
 * ```
 *
 * @module
 */
import { connectFramed, listenFramed } from "../../tcp/mod.ts";
import { openDatagram } from "../../udp/mod.ts";
import { type LessonOptions, main, recvText, tcpPair, type Verdict } from "./_lesson.ts";

/** TCP: write(""), see whether anything comes within 200 ms, then write("next"). */
async function overTcp(): Promise<{ written: number; arrived: boolean; next: string }> {
  await using pair = await tcpPair();
  const written = await pair.client.write(new Uint8Array(0));
  const read = recvText(pair.server, 1024);
  const timer = new Promise<"nothing">((resolve) => setTimeout(() => resolve("nothing"), 200));
  const first = await Promise.race([read, timer]);
  await pair.client.write(new TextEncoder().encode("next"));
  const next = first === "nothing" ? await read : first;
  return { written, arrived: first !== "nothing", next };
}

/** UDP: send an empty datagram, then "next". */
async function overUdp(): Promise<number[]> {
  await using receiver = openDatagram();
  await using sender = openDatagram();
  await sender.send(new Uint8Array(0), receiver.addr as Deno.NetAddr);
  await sender.send(new TextEncoder().encode("next"), receiver.addr as Deno.NetAddr);
  const first = await receiver.receive({ timeout: 1000 });
  const second = await receiver.receive({ timeout: 1000 });
  return [first.data.length, second.data.length];
}

/** A framed connection: send an empty frame, then "next". */
async function framed(): Promise<number[]> {
  await using listener = listenFramed({ hostname: "127.0.0.1", port: 0 });
  await using client = await connectFramed({ port: listener.addr.port });
  await using server = (await listener.accept())!;
  await client.send(new Uint8Array(0));
  await client.send(new TextEncoder().encode("next"));
  return [(await server.receive())!.length, (await server.receive())!.length];
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const tcp = await overTcp();
  const udp = await overUdp();
  const frames = await framed();
  log(
    `TCP: write(empty) returned ${tcp.written}; in 200 ms the server got ` +
      `${tcp.arrived ? "something" : "nothing"}; its next read: ${JSON.stringify(tcp.next)}`,
  );
  log(`UDP: receives of ${udp.join(" then ")} bytes (the empty datagram arrived)`);
  log(`framed TCP: messages of ${frames.join(" then ")} bytes`);
  return {
    id: "e",
    claim: "an empty message: UDP delivers it, TCP's vanishes",
    reproduced: !tcp.arrived && tcp.next === "next" && udp[0] === 0 && udp[1] === 4,
    summary: `TCP write(0 B) → nothing in 200 ms, next read "${tcp.next}"; UDP → a ` +
      `${udp[0]}-byte receive; framed → a ${frames[0]}-byte message`,
    data: { tcp, udp, frames },
  };
}

if (import.meta.main) await main({ run });
