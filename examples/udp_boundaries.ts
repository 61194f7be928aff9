// Copyright 2025 the sockkit authors. MIT license.
/**
 * UDP keeps message boundaries, and has limits: shown with numbers on loopback.
 *
 * 1. N sends of varied sizes arrive as exactly N receives, each whole (the empty one too).
 * 2. 65,507 bytes go over IPv4 and 65,508 are refused; 65,527 / 65,528 over `::1`.
 * 3. A receive into a small buffer loses the rest of the datagram.
 * 4. A burst that nobody reads loses datagrams, and the sender is not told.
 *
 * ```sh
 * deno run --unstable-net --allow-net=127.0.0.1,[::1] examples/udp_boundaries.ts
 * ```
 *
 * Exit codes: 0 every demonstration behaved as described, 1 one did not (or a socket error),
 * 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  DatagramTooLargeError,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  openDatagram,
  transmit,
} from "../udp/mod.ts";

const USAGE =
  `Usage: deno run --unstable-net --allow-net=127.0.0.1,[::1] examples/udp_boundaries.ts [options]

Shows on loopback that UDP keeps message boundaries, refuses datagrams over its size limit,
loses the rest of a datagram received into a small buffer, and drops datagrams in a burst.

Options:
  --burst-count N   datagrams in the unread burst (default 2000)
  --burst-size N    bytes per burst datagram, 0 to 65507 (default 4096)
  --no-ipv6         skip the ::1 part
  -h, --help        show this help

Exit codes: 0 ok, 1 a demonstration did not behave as described, 2 usage error.`;

function usageError(message: string): never {
  console.error(`udp_boundaries: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

function integerFlag(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    usageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

const fmt = (n: number) => n.toLocaleString("en-US");
let failures = 0;
function check(ok: boolean, what: string): void {
  console.log(`  ${ok ? "✔" : "✘"} ${what}`);
  if (!ok) failures++;
}

async function boundaries(): Promise<void> {
  console.log("1. Message boundaries: one send, one receive");
  const sizes = [5, 0, 1_000, 1, 65_507, 300, 0, 8_192];
  const messages = sizes.map((size, i) => new Uint8Array(size).fill(i + 1));
  const report = await transmit(messages, { idleTimeout: 1_000 });
  console.log(`  sent ${report.sent} datagrams of ${sizes.map(fmt).join(", ")} bytes`);
  console.log(`  received ${report.received}, whole ${report.whole}, lost ${report.lost}`);
  check(
    report.received === report.sent && report.boundariesKept,
    "as many receives as sends, none merged or split",
  );
  check(
    report.emptyReceived === report.emptySent,
    `${report.emptyReceived} empty datagrams arrived (TCP cannot send an empty message)`,
  );
  check(report.inOrder, "in order (on loopback; UDP does not promise it)");
}

async function limit(hostname: string, max: number): Promise<void> {
  await using rx = openDatagram({ hostname, port: 0 });
  await using tx = openDatagram({ hostname, port: 0 });
  await using raw = openDatagram({ hostname, port: 0, checkSize: false });
  const to = rx.addr as Deno.NetAddr;
  const sent = await tx.send(new Uint8Array(max), to);
  const { data, truncated } = await rx.receive();
  check(
    sent === max && data.length === max && !truncated,
    `${fmt(max)} bytes sent and received whole`,
  );
  try {
    await tx.send(new Uint8Array(max + 1), to);
    check(false, `${fmt(max + 1)} bytes should have been refused`);
  } catch (err) {
    if (!(err instanceof DatagramTooLargeError)) throw err;
    check(err.size === max + 1 && err.limit === max, `refused before the OS: ${err.message}`);
  }
  try {
    await raw.send(new Uint8Array(max + 1), to);
    check(false, `the OS should have refused ${fmt(max + 1)} bytes`);
  } catch (err) {
    if (!(err instanceof DatagramTooLargeError)) throw err;
    const os = err.cause instanceof Error ? err.cause.message : "?";
    check(err.limit === max, `and by the OS itself: "${os}" → DatagramTooLargeError`);
  }
}

async function limits(ipv6: boolean): Promise<void> {
  console.log("\n2. Size limits");
  console.log(
    `  IPv4 (127.0.0.1): 65,535 − 20 (IPv4 header) − 8 (UDP header) = ${fmt(MAX_UDP_PAYLOAD_IPV4)}`,
  );
  await limit("127.0.0.1", MAX_UDP_PAYLOAD_IPV4);
  if (!ipv6) return;
  console.log(
    `  IPv6 (::1): 65,535 − 8 (UDP header; the payload length excludes the IPv6 header) = ${
      fmt(MAX_UDP_PAYLOAD_IPV6)
    }`,
  );
  try {
    await limit("::1", MAX_UDP_PAYLOAD_IPV6);
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrNotAvailable)) throw err;
    console.log("  (skipped: this machine has no ::1)");
  }
}

async function smallBuffer(): Promise<void> {
  console.log("\n3. A receive buffer smaller than the datagram");
  await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
  await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
  const to = rx.addr as Deno.NetAddr;
  await tx.send(new Uint8Array(100).fill(7), to);
  await tx.send(new Uint8Array([1, 2, 3]), to);
  const first = await rx.receive({ buffer: new Uint8Array(10) });
  const next = await rx.receive();
  console.log(
    `  sent 100 bytes, received ${first.data.length} into a 10-byte buffer (truncated: ${first.truncated})`,
  );
  check(
    first.data.length === 10 && first.truncated,
    `${100 - first.data.length} bytes lost, without an error`,
  );
  check(next.data.length === 3, "the next receive gets the next datagram, not the lost rest");
}

async function burst(count: number, size: number): Promise<void> {
  console.log("\n4. A burst nobody reads");
  const messages = Array.from({ length: count }, (_, i) => {
    const bytes = new Uint8Array(size).fill(i & 0xff);
    if (size >= 4) new DataView(bytes.buffer).setUint32(0, i);
    return bytes;
  });
  const report = await transmit(messages, { mode: "burst", idleTimeout: 200 });
  console.log(
    `  sent ${fmt(report.sent)} × ${fmt(size)} B = ${fmt(report.bytesSent)} B; received ${
      fmt(report.received)
    }; lost ${fmt(report.lost)} (${(100 * report.lost / Math.max(report.sent, 1)).toFixed(1)} %)`,
  );
  check(report.sent === count, "every send succeeded: the sender got no error for the loss");
  check(report.mismatched === 0, "what arrived arrived whole");
  if (report.lost === 0) console.log("  (nothing lost this time: the receive buffer held it all)");
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        "burst-count": { type: "string", default: "2000" },
        "burst-size": { type: "string", default: "4096" },
        "no-ipv6": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const count = integerFlag(values["burst-count"], "burst-count", 1, 100_000);
  const size = integerFlag(values["burst-size"], "burst-size", 0, MAX_UDP_PAYLOAD_IPV4);

  await boundaries();
  await limits(!values["no-ipv6"]);
  await smallBuffer();
  await burst(count, size);
  console.log(failures === 0 ? "\nAll as described." : `\n${failures} check(s) failed.`);
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(`udp_boundaries: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
