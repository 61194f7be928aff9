// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import {
  type DatagramSocket,
  openDatagram,
  startUdpRelay,
  type UdpRelay,
  type UdpRelayOptions,
} from "../udp/mod.ts";

const permissions: Deno.TestDefinition["permissions"] = { net: ["127.0.0.1"] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Receives numbered datagrams until `idle` ms of silence. */
async function collect(socket: DatagramSocket, idle = 300): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  try {
    for (;;) got.push((await socket.receive({ timeout: idle })).data);
  } catch (error) {
    if (!(error instanceof Deno.errors.TimedOut)) throw error;
  }
  return got;
}

const numberOf = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset).getUint32(0);

/** Sends `count` numbered datagrams of `size` bytes through a relay, paced; returns what arrived. */
async function through(options: Omit<UdpRelayOptions, "target">, count: number, size = 32) {
  await using receiver = openDatagram();
  await using relay = await startUdpRelay({ ...options, target: receiver.addr as Deno.NetAddr });
  await using sender = openDatagram();
  const arriving = collect(receiver);
  await sendNumbered(sender, relay, count, size);
  const got = await arriving;
  return { got, stats: structuredClone(relay.stats), log: structuredClone(relay.log) };
}

async function sendNumbered(sender: DatagramSocket, relay: UdpRelay, count: number, size: number) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    new DataView(bytes.buffer).setUint32(0, i);
    await sender.send(bytes, relay.addr);
    while (i - relay.stats.up.received > 16) await sleep(1); // no socket buffer overflows
  }
}

Deno.test({
  name: "udp relay: loss, duplication and reordering rates hit the set ones over 4000 datagrams",
  permissions,
  async fn() {
    const count = 4000;
    const set = { loss: 0.1, duplicate: 0.05, reorder: 0.1 };
    const { got, stats } = await through({ ...set, seed: 2026 }, count);
    const seen = new Set<number>();
    let repeated = 0, late = 0, highest = -1;
    for (const data of got) {
      const n = numberOf(data);
      if (seen.has(n)) repeated++;
      else if (n < highest) late++;
      seen.add(n);
      highest = Math.max(highest, n);
    }
    const passed = count - stats.up.lost;
    const measured = {
      loss: (count - seen.size) / count,
      duplicate: repeated / seen.size,
      reorder: stats.up.reordered / passed,
    };
    console.log(`set ${JSON.stringify(set)} measured ${JSON.stringify(measured)} late ${late}`);
    assert.equal(stats.up.received, count);
    assert.equal(count - seen.size, stats.up.lost); // every loss is the relay's, none the kernel's
    assert.equal(repeated, stats.up.duplicated);
    assert.equal(got.length, stats.up.forwarded);
    for (const key of ["loss", "duplicate", "reorder"] as const) {
      assert.ok(
        Math.abs(measured[key] - set[key]) < 0.02,
        `${key}: ${measured[key]} vs ${set[key]}`,
      );
    }
    assert.ok(late > 0.8 * stats.up.reordered && late <= stats.up.reordered);
  },
});

Deno.test({
  name: "udp relay: two runs with one seed impair the same datagrams; another seed others",
  permissions,
  async fn() {
    const options = { loss: 0.1, duplicate: 0.1, corrupt: 0.1, reorder: 0.05 };
    const strip = (log: typeof first.log) => log.map((e) => JSON.stringify(e)).sort();
    const first = await through({ ...options, seed: 42 }, 500);
    const second = await through({ ...options, seed: 42 }, 500);
    const other = await through({ ...options, seed: 43 }, 500);
    assert.ok(first.log.length > 50);
    assert.deepEqual(strip(second.log), strip(first.log));
    assert.deepEqual(second.stats, first.stats);
    assert.notDeepEqual(strip(other.log), strip(first.log));
  },
});

Deno.test({
  name: "udp relay: corruption flips exactly the logged bit; truncation cuts to n bytes",
  permissions,
  async fn() {
    const { got, log } = await through({ corrupt: 1, seed: 5 }, 50, 16);
    assert.equal(got.length, 50);
    got.forEach((data, seq) => { // nothing reorders here: the k-th arrival is datagram k
      const original = new Uint8Array(16);
      new DataView(original.buffer).setUint32(0, seq);
      const flipped: number[] = [];
      for (let bit = 0; bit < 16 * 8; bit++) {
        if (((data[bit >> 3] ^ original[bit >> 3]) >> (bit & 7)) & 1) flipped.push(bit);
      }
      assert.deepEqual(flipped, [log.find((e) => e.seq === seq)!.corrupted]);
    });
    const cut = await through({ truncate: 6, seed: 5 }, 20, 100);
    assert.equal(cut.got.length, 20);
    assert.ok(cut.got.every((d) => d.length === 6));
    assert.equal(cut.stats.up.truncated, 20);
  },
});

Deno.test({
  name: "udp relay: the down direction impairs replies on their own (NAT-like per client)",
  permissions,
  async fn() {
    await using server = openDatagram();
    await using relay = await startUdpRelay({
      target: server.addr as Deno.NetAddr,
      down: { duplicate: 1 },
    });
    await using a = openDatagram();
    await using b = openDatagram();
    await a.send(new TextEncoder().encode("from a"), relay.addr);
    await b.send(new TextEncoder().encode("from b"), relay.addr);
    for (let i = 0; i < 2; i++) {
      const { data, addr } = await server.receive({ timeout: 2000 });
      await server.send(data, addr as Deno.NetAddr); // echo to the relay's socket for that client
    }
    for (const [client, text] of [[a, "from a"], [b, "from b"]] as const) {
      const replies = (await collect(client, 200)).map((d) => new TextDecoder().decode(d));
      assert.deepEqual(replies, [text, text]);
    }
    assert.equal(relay.stats.up.duplicated, 0);
    assert.equal(relay.stats.down.duplicated, 2);
  },
});

Deno.test({
  name: "udp relay: rate limit queues up to a second and drops the rest",
  permissions,
  async fn() {
    await using receiver = openDatagram();
    await using relay = await startUdpRelay({ target: receiver.addr as Deno.NetAddr, rate: 20 });
    await using sender = openDatagram();
    for (let i = 0; i < 60; i++) await sender.send(new Uint8Array([i]), relay.addr);
    while (relay.stats.up.received < 60) await sleep(5);
    // 20 per second, at most a second queued: about 21 kept, the rest dropped
    assert.ok(relay.stats.up.lost >= 30 && relay.stats.up.lost <= 45, String(relay.stats.up.lost));
    assert.ok(relay.log.every((e) => e.lost === "rate"));
    await relay.close(); // drops the queue at once
  },
});

Deno.test({
  name: "udp relay: refuses non-loopback addresses and bad probabilities",
  permissions,
  async fn() {
    const target = { hostname: "127.0.0.1", port: 9 };
    // a documentation address (never routed): refused before any socket is made
    await assert.rejects(
      async () => await startUdpRelay({ target: { hostname: "198.51.100.1", port: 9 } }),
      RangeError,
    );
    await assert.rejects(
      async () => await startUdpRelay({ target, hostname: "0.0.0.0" }),
      RangeError,
    );
    await assert.rejects(async () => await startUdpRelay({ target, loss: 1.5 }), RangeError);
    await assert.rejects(
      async () => await startUdpRelay({ target, up: { reorder: -0.1 } }),
      RangeError,
    );
    await assert.rejects(
      async () => await startUdpRelay({ target, delay: "5" as never }),
      TypeError,
    );
  },
});
