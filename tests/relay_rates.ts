// Copyright 2025 the sockkit authors. MIT license.
/**
 * Measures the impairment relays against their settings: UDP loss, duplication, reordering and
 * corruption rates over 4000 datagrams for five seeds, TCP bandwidth over 1 MB, TCP latency as
 * round trips. Prints one line per measurement; asserts nothing (the tests do).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 tests/relay_rates.ts
 * ```
 *
 * @module
 */
import { openDatagram, startUdpRelay } from "../udp/mod.ts";
import { startTcpRelay } from "../tcp/mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SET = { loss: 0.1, duplicate: 0.05, reorder: 0.1, corrupt: 0.02 };
const COUNT = 4000;

async function udpRates(seed: number): Promise<string> {
  await using receiver = openDatagram();
  await using relay = await startUdpRelay({ target: receiver.addr as Deno.NetAddr, ...SET, seed });
  await using sender = openDatagram();
  let received = 0;
  const receiving = (async () => {
    try {
      for (;;) await receiver.receive({ timeout: 300 }).then(() => received++);
    } catch { /* 300 ms of silence: done */ }
  })();
  const bytes = new Uint8Array(32);
  for (let i = 0; i < COUNT; i++) {
    new DataView(bytes.buffer).setUint32(0, i);
    await sender.send(bytes, relay.addr);
    while (i - relay.stats.up.received > 16) await sleep(1); // no socket buffer overflows
  }
  await receiving;
  const s = relay.stats.up, passed = COUNT - s.lost;
  const rate = (n: number, of: number) => (n / of).toFixed(4);
  return `seed ${seed}: loss ${rate(s.lost, COUNT)} (set ${SET.loss}), duplicate ` +
    `${rate(s.duplicated, passed)} (${SET.duplicate}), reorder ${rate(s.reordered, passed)} ` +
    `(${SET.reorder}), corrupt ${rate(s.corrupted, passed)} (${SET.corrupt}); the receiver got ` +
    `${received} = ${passed} + ${s.duplicated} duplicates: ${received === passed + s.duplicated}`;
}

async function tcpBandwidth(kbPerS: number): Promise<string> {
  using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using relay = await startTcpRelay({ target: server.addr, bandwidth: kbPerS });
  using client = await Deno.connect(relay.addr);
  using conn = await server.accept();
  const start = performance.now();
  const received = new Response(conn.readable).bytes();
  const data = new Uint8Array(1_000_000);
  for (let at = 0; at < data.length;) at += await client.write(data.subarray(at));
  await client.closeWrite();
  const n = (await received).length;
  return `tcp bandwidth set ${kbPerS} KB/s: ${
    (n / (performance.now() - start)).toFixed(0)
  } KB/s over 1 MB`;
}

async function tcpLatency(latency: number, jitter: number): Promise<string> {
  using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using relay = await startTcpRelay({ target: server.addr, latency, jitter, seed: 1 });
  using client = await Deno.connect(relay.addr);
  using conn = await server.accept();
  client.setNoDelay(true);
  conn.setNoDelay(true);
  const rtts: number[] = [], one = new Uint8Array(1);
  for (let i = 0; i < 21; i++) {
    const start = performance.now();
    await client.write(one);
    await conn.read(one);
    await conn.write(one);
    await client.read(one);
    rtts.push(performance.now() - start);
  }
  rtts.sort((a, b) => a - b);
  return `tcp latency ${latency}±${jitter} ms each way: round trip min ${rtts[0].toFixed(1)}, ` +
    `median ${rtts[10].toFixed(1)}, max ${rtts[20].toFixed(1)} ms`;
}

for (const seed of [1, 2, 3, 4, 5]) console.log(await udpRates(seed));
console.log(await tcpBandwidth(500));
console.log(await tcpLatency(20, 5));
