// Copyright 2025 the sockkit authors. MIT license.
/**
 * (g) The largest UDP datagram: 65,507 bytes over IPv4, 65,527 over IPv6.
 *
 * The tutorial: "sendto can send at most 65535 − 20 (IP header) − 8 (UDP header) = 65507 bytes;
 * longer data makes the call return an error (the packet is dropped, not sent)". IPv6's header
 * is not counted in its 65,535-byte payload length, so there the limit is 65535 − 8 = 65,527.
 * Each size at the limit is sent and received whole; one byte more is refused — by the OS
 * itself (`EMSGSIZE`), since sockkit's own check is turned off here (`checkSize: false`) to let
 * the kernel speak.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1,[::1] --unstable-net examples/lessons/07_udp_limits.ts
 * ```
 *
 * @module
 */
import {
  DatagramTooLargeError,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  openDatagram,
} from "../../udp/mod.ts";
import { type LessonOptions, main, type Verdict } from "./_lesson.ts";

interface Probe {
  family: string;
  limit: number;
  atLimit: number | undefined;
  overLimit: string;
}

/** Sends `limit` bytes (expecting them whole) and `limit + 1` (expecting a refusal). */
async function probe(hostname: string, limit: number): Promise<Probe> {
  await using receiver = openDatagram({ hostname });
  await using sender = openDatagram({ hostname, checkSize: false });
  const to = receiver.addr as Deno.NetAddr;
  await sender.send(new Uint8Array(limit), to);
  const atLimit = (await receiver.receive({ timeout: 1000 })).data.length;
  let overLimit = "sent!";
  try {
    await sender.send(new Uint8Array(limit + 1), to);
  } catch (error) {
    if (!(error instanceof DatagramTooLargeError)) throw error;
    overLimit = `refused: ${(error.cause as Error | undefined)?.message ?? error.message}`;
  }
  return { family: hostname, limit, atLimit, overLimit };
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const probes = [await probe("127.0.0.1", MAX_UDP_PAYLOAD_IPV4)];
  try {
    probes.push(await probe("::1", MAX_UDP_PAYLOAD_IPV6));
  } catch (error) {
    log(`IPv6 loopback unavailable here (${(error as Error).message}): only IPv4 probed`);
  }
  for (const p of probes) {
    log(
      `${p.family}: ${p.limit} bytes → received ${p.atLimit} bytes; ${
        p.limit + 1
      } → ${p.overLimit}`,
    );
  }
  const ok = (p: Probe) => p.atLimit === p.limit && p.overLimit.startsWith("refused");
  const fmt = (n: number) => n.toLocaleString("en-US");
  return {
    id: "g",
    claim: "UDP's largest datagram is 65,507 B (IPv4) / 65,527 B (IPv6)",
    reproduced: probes.length === 2 && probes.every(ok),
    summary: probes.map((p) =>
      `${p.family}: ${fmt(p.limit)} B arrive whole, ${fmt(p.limit + 1)} B ${
        ok(p) ? "refused by the OS" : p.overLimit
      }`
    ).join("; "),
    data: probes,
  };
}

if (import.meta.main) await main({ run });
