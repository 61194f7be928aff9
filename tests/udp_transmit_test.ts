// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { DatagramTooLargeError, transmit } from "../udp/mod.ts";

function message(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 37 + j) & 0xff;
  if (size >= 4) new DataView(bytes.buffer).setUint32(0, i); // every message distinct
  return bytes;
}

Deno.test({
  name: "udp transmit: paced messages keep their boundaries, the empty one and the largest",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const sizes = [5, 0, 1, 65_507, 1_000, 0, 4];
    const report = await transmit(sizes.map((s, i) => message(i, s)), { idleTimeout: 1_000 });
    assert.equal(report.mode, "paced");
    assert.equal(report.family, "ipv4");
    assert.equal(report.sent, 7);
    assert.equal(report.received, 7);
    assert.equal(report.whole, 7);
    assert.equal(report.lost, 0);
    assert.equal(report.mismatched, 0);
    assert.equal(report.duplicates, 0); // the two equal empty messages count once each
    assert.equal(report.boundariesKept, true);
    assert.equal(report.inOrder, true);
    assert.equal(report.emptySent, 2);
    assert.equal(report.emptyReceived, 2);
    assert.equal(report.largestSent, 65_507);
    assert.equal(report.largestReceived, 65_507);
    assert.equal(report.bytesSent, sizes.reduce((a, b) => a + b));
    assert.equal(report.bytesReceived, report.bytesSent);
    assert.equal(report.truncated, 0);
  },
});

Deno.test({
  name: "udp transmit: a burst nobody reads overflows SO_RCVBUF; the sender hears nothing",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    // 2,000 × 4 KiB = 8 MiB sent while the receiver does not read: more than any system's
    // default receive buffer holds (Linux 212,992 bytes, counted with per-datagram overhead), so
    // most are dropped. Which ones survive is not deterministic; that nothing is merged or split
    // is.
    const messages = Array.from({ length: 2_000 }, (_, i) => message(i, 4_096));
    const report = await transmit(messages, { mode: "burst", idleTimeout: 150 });
    assert.equal(report.mode, "burst");
    assert.equal(report.sent, 2_000); // every send resolved: no error for the loss
    assert.ok(report.received <= report.sent);
    assert.ok(report.lost > 0, `expected loss, got ${report.received} of 2000`);
    // What did arrive arrived whole: loss, never merging or splitting.
    assert.equal(report.mismatched, 0);
    assert.equal(report.boundariesKept, true);
    assert.equal(report.whole + report.duplicates, report.received);
    assert.equal(report.bytesReceived, report.received * 4_096);
  },
});

Deno.test({
  name: "udp transmit: over ::1 the IPv6 limit of 65,527 bytes applies, over IPv4 65,507",
  permissions: { net: ["127.0.0.1", "[::1]"] },
  async fn() {
    const report = await transmit([message(1, 65_527), message(2, 10)], {
      hostname: "::1",
      idleTimeout: 1_000,
    });
    assert.equal(report.family, "ipv6");
    assert.deepEqual([report.whole, report.lost, report.largestReceived], [2, 0, 65_527]);
    await assert.rejects(
      transmit([message(1, 65_528)], { hostname: "::1" }),
      DatagramTooLargeError,
    );
    await assert.rejects(transmit([message(1, 65_508)]), (err: unknown) => {
      assert.ok(err instanceof DatagramTooLargeError);
      assert.equal(err.limit, 65_507);
      return true;
    });
  },
});

Deno.test({
  name: "udp transmit: a small receive buffer shows up as truncated, mismatched datagrams",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const report = await transmit([message(1, 100), message(2, 20)], {
      receiveBufferSize: 32,
      idleTimeout: 300,
    });
    assert.equal(report.received, 2);
    assert.equal(report.truncated, 1);
    assert.equal(report.mismatched, 1);
    assert.equal(report.whole, 1);
    assert.equal(report.lost, 1);
    assert.equal(report.boundariesKept, false);
    assert.equal(report.bytesReceived, 32 + 20);
  },
});

Deno.test({
  name: "udp transmit: bad options throw",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    await assert.rejects(transmit([], { mode: "flood" as "burst" }), TypeError);
    await assert.rejects(transmit([], { idleTimeout: 0 }), RangeError);
    await assert.rejects(transmit(["x" as unknown as Uint8Array]), TypeError);
    const empty = await transmit([], { idleTimeout: 20 });
    assert.deepEqual([empty.sent, empty.received, empty.lost], [0, 0, 0]);
  },
});
