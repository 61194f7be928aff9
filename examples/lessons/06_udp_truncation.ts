// Copyright 2025 the sockkit authors. MIT license.
/**
 * (f) UDP truncation: a datagram longer than the receive buffer loses the rest, silently.
 *
 * The tutorial: "one recvfrom(x) takes exactly one sendto(y); if y > x the data is lost".
 * The sender sends 100 bytes, then 5 bytes; the receiver uses a 10-byte buffer. It gets the
 * first 10 bytes of the first datagram — the other 90 are gone, not kept for the next receive —
 * and then the second datagram. The OS says nothing; sockkit's `truncated` flag says "maybe"
 * (the buffer came back full).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --unstable-net examples/lessons/06_udp_truncation.ts
 * ```
 *
 * @module
 */
import { openDatagram } from "../../udp/mod.ts";
import { type LessonOptions, main, type Verdict } from "./_lesson.ts";

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  await using receiver = openDatagram();
  await using sender = openDatagram();
  const to = receiver.addr as Deno.NetAddr;
  await sender.send(new Uint8Array(100).fill(0x41), to); // 100 × "A"
  await sender.send(new TextEncoder().encode("hello"), to);
  const buffer = new Uint8Array(10); // recvfrom(10)
  const first = await receiver.receive({ buffer, timeout: 1000 });
  const firstText = new TextDecoder().decode(first.data);
  const second = await receiver.receive({ buffer, timeout: 1000 });
  const secondText = new TextDecoder().decode(second.data);
  log(`sent 100 bytes then 5; received into a 10-byte buffer:`);
  log(
    `  1st receive: ${first.data.length} bytes ${JSON.stringify(firstText)}, ` +
      `truncated: ${first.truncated}`,
  );
  log(
    `  2nd receive: ${second.data.length} bytes ${JSON.stringify(secondText)} ` +
      `(the 90 lost bytes did not come back)`,
  );
  return {
    id: "f",
    claim: "a UDP datagram larger than the buffer is cut, the rest lost",
    reproduced: first.data.length === 10 && first.truncated && secondText === "hello",
    summary: `100 B into recvfrom(10) → 10 B, then the next datagram "${secondText}": ` +
      `90 B lost without an error`,
    data: { first: first.data.length, second: secondText },
  };
}

if (import.meta.main) await main({ run });
