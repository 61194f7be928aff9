// Copyright 2025 the sockkit authors. MIT license.
/**
 * Datagrams per second through a sockkit `DatagramSocket` against bare `Deno.DatagramConn`, on
 * 127.0.0.1, for 32 B, 1 KiB and 65,507 B datagrams. Each round sends one datagram and receives
 * it before the next (no loss, so both sides do the same work). Prints a table and exits.
 *
 * `deno run --unstable-net --allow-net=127.0.0.1 tests/udp_bench.ts [--count N]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { openDatagram } from "../udp/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { count: { type: "string", default: "3000" } },
});
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) {
  console.error("--count must be a positive integer");
  Deno.exit(2);
}

async function rawRound(size: number, n: number): Promise<number> {
  const rx = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const tx = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const data = new Uint8Array(size);
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      await tx.send(data, rx.addr);
      await rx.receive();
    }
    return performance.now() - start;
  } finally {
    rx.close();
    tx.close();
  }
}

async function sockkitRound(size: number, n: number): Promise<number> {
  await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
  await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
  const to = rx.addr as Deno.NetAddr;
  const data = new Uint8Array(size);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await tx.send(data, to);
    await rx.receive();
  }
  return performance.now() - start;
}

const rows: string[][] = [["size", "Deno raw (dgram/s)", "sockkit (dgram/s)", "sockkit / raw"]];
for (const size of [32, 1024, 65_507]) {
  await rawRound(size, 200); // warm up both
  await sockkitRound(size, 200);
  let raw = Infinity, ours = Infinity;
  for (let r = 0; r < 3; r++) {
    raw = Math.min(raw, await rawRound(size, count));
    ours = Math.min(ours, await sockkitRound(size, count));
  }
  const rate = (ms: number) => Math.round((count / ms) * 1000);
  rows.push([
    size.toLocaleString("en-US") + " B",
    rate(raw).toLocaleString("en-US"),
    rate(ours).toLocaleString("en-US"),
    (raw / ours).toFixed(2) + "×",
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padStart(widths[c])).join("  "));
console.log(`(${count} send+receive rounds per figure, best of 3; 1 datagram in flight)`);
