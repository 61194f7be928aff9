// Copyright 2025 the sockkit authors. MIT license.
/**
 * Run by `udp_unixpacket_test.ts` in its own process, because `unixpacket` sockets need net
 * access to their exact paths (`--allow-net=unix:/path`), which the test task does not grant.
 * Asserts as it goes and prints what it measured as one JSON line; exits non-zero on failure.
 *
 * Usage: deno run --unstable-net --allow-net=unix:DIR/a.sock,unix:DIR/b.sock
 *   --allow-read=DIR --allow-write=DIR tests/udp_unixpacket_child.ts DIR
 *
 * @module
 */
import assert from "node:assert/strict";
import { DatagramTooLargeError, openDatagram } from "../udp/mod.ts";

const dir = Deno.args[0];
if (!dir) {
  console.error("usage: udp_unixpacket_child.ts DIR");
  Deno.exit(2);
}
const aPath = `${dir}/a.sock`;
const bPath = `${dir}/b.sock`;

await using a = openDatagram({ transport: "unixpacket", path: aPath });
await using b = openDatagram({ transport: "unixpacket", path: bPath });
await using unbound = openDatagram({ transport: "unixpacket" });
assert.equal(a.transport, "unixpacket");
assert.equal(a.family, "unix");
assert.equal(a.maxPayload, undefined);
assert.equal((a.addr as Deno.UnixAddr).path, aPath);

// Larger than any UDP datagram, received whole (Deno's bare receive() would keep 65,507).
const big = new Uint8Array(150_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
assert.equal(await a.send(big, { path: bPath }), 150_000);
const got = await b.receive();
assert.equal(got.truncated, false);
assert.deepEqual(got.data, big);
assert.equal((got.addr as Deno.UnixAddr).path, aPath);

// Boundaries, the empty datagram and order.
const sizes = [3, 0, 70_000, 1];
for (const size of sizes) await a.send(new Uint8Array(size).fill(size & 0xff), { path: bPath });
const receivedSizes = [];
for (let i = 0; i < sizes.length; i++) receivedSizes.push((await b.receive()).data.length);
assert.deepEqual(receivedSizes, sizes);

// A too-small caller buffer cuts it, and says so.
await a.send(big.subarray(0, 1_000), { path: bPath });
const cut = await b.receive({ buffer: new Uint8Array(100) });
assert.deepEqual([cut.data.length, cut.truncated], [100, true]);

// An unbound sender can send; its address has no path.
await unbound.send(new Uint8Array([1, 2]), { path: bPath });
const anon = await b.receive();
assert.deepEqual(anon.data, new Uint8Array([1, 2]));
assert.equal((anon.addr as Deno.UnixAddr).path, null);

// Past the socket's send buffer the OS says EMSGSIZE, mapped to DatagramTooLargeError.
let refused: DatagramTooLargeError | undefined;
try {
  await a.send(new Uint8Array(1_000_000), { path: bPath });
} catch (err) {
  if (!(err instanceof DatagramTooLargeError)) throw err;
  refused = err;
}
assert.ok(refused, "1,000,000 bytes should be refused");
assert.equal(refused.family, "unix");
assert.equal(refused.limit, undefined);
assert.equal((refused.cause as { code?: string }).code, "EMSGSIZE");

// The largest that goes, by bisection (Linux default: 212,992 − 32 = 212,960 bytes).
let low = 150_000, high = 1_000_000;
while (high - low > 1) {
  const mid = Math.floor((low + high) / 2);
  try {
    await a.send(new Uint8Array(mid), { path: bPath });
    await b.receive();
    low = mid;
  } catch (err) {
    if (!(err instanceof DatagramTooLargeError)) throw err;
    high = mid;
  }
}

console.log(JSON.stringify({
  big: got.data.length,
  receivedSizes,
  truncated: cut.truncated,
  unboundPath: (anon.addr as Deno.UnixAddr).path,
  refusedSize: refused.size,
  largest: low,
}));
