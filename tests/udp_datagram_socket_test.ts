// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import {
  DatagramSocket,
  DatagramTooLargeError,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  openDatagram,
} from "../udp/mod.ts";

const V4: Deno.PermissionOptions = { net: ["127.0.0.1"] };
const V6: Deno.PermissionOptions = { net: ["[::1]"] };

/** The bytes of datagram `i` of a given size: a recognisable pattern, different per index. */
function payload(i: number, size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 131 + j * 7 + (j >> 8)) & 0xff;
  return bytes;
}

function to(socket: DatagramSocket): Deno.NetAddr {
  return socket.addr as Deno.NetAddr;
}

Deno.test({
  name: "udp: 1,000 paced datagrams of 0 to 65,507 bytes each arrive once and whole",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const count = 1_000;
    const sizes = Array.from(
      { length: count },
      (_, i) => Math.round((i * MAX_UDP_PAYLOAD_IPV4) / (count - 1)),
    );
    assert.equal(sizes[0], 0);
    assert.equal(sizes[count - 1], 65_507);
    for (let i = 0; i < count; i++) {
      // Paced: one datagram in flight at a time, so SO_RCVBUF never overflows.
      const expected = payload(i, sizes[i]);
      assert.equal(await tx.send(expected, to(rx)), sizes[i]);
      const { data, addr, truncated } = await rx.receive();
      assert.equal(truncated, false);
      assert.equal(data.length, sizes[i], `datagram ${i}`);
      assert.deepEqual(data, expected, `datagram ${i} differs`);
      assert.equal((addr as Deno.NetAddr).port, to(tx).port);
    }
    // Each exactly once: nothing further is waiting.
    await assert.rejects(rx.receive({ timeout: 50 }), Deno.errors.TimedOut);
  },
});

Deno.test({
  name: "udp: the IPv4 limit is checked before the OS sees the datagram",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    assert.equal(tx.family, "ipv4");
    assert.equal(tx.maxPayload, MAX_UDP_PAYLOAD_IPV4);
    const error = await assert.rejects(
      tx.send(new Uint8Array(65_508), to(rx)),
      (err: unknown) => {
        assert.ok(err instanceof DatagramTooLargeError);
        assert.ok(err instanceof RangeError);
        assert.equal(err.size, 65_508);
        assert.equal(err.limit, 65_507);
        assert.equal(err.family, "ipv4");
        assert.equal(err.cause, undefined); // ours, not the OS's
        assert.match(err.message, /65,508 bytes.*65,507 bytes/);
        return true;
      },
    );
    assert.equal(error, undefined);
    // A host name is checked against the socket's own family.
    await assert.rejects(
      tx.send(new Uint8Array(65_508), { hostname: "localhost", port: to(rx).port }),
      DatagramTooLargeError,
    );
    // Nothing went out; the largest legal datagram does.
    assert.equal(await tx.send(new Uint8Array(65_507).fill(9), to(rx)), 65_507);
    const { data } = await rx.receive();
    assert.equal(data.length, 65_507);
    await assert.rejects(rx.receive({ timeout: 50 }), Deno.errors.TimedOut);
  },
});

Deno.test({
  name: "udp: the OS's EMSGSIZE over IPv4 maps to DatagramTooLargeError",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0, checkSize: false });
    // The raw Deno error first, to show what is being mapped.
    const raw = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    try {
      await assert.rejects(raw.send(new Uint8Array(65_508), to(rx)), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal((err as { code?: string }).code, "EMSGSIZE");
        return true;
      });
    } finally {
      raw.close();
    }
    await assert.rejects(tx.send(new Uint8Array(65_508), to(rx)), (err: unknown) => {
      assert.ok(err instanceof DatagramTooLargeError);
      assert.equal(err.size, 65_508);
      assert.equal(err.limit, 65_507);
      assert.equal(err.family, "ipv4");
      assert.equal((err.cause as { code?: string }).code, "EMSGSIZE");
      return true;
    });
    // The socket still works after the refusal, and sends stay in order.
    await tx.send(new Uint8Array([1]), to(rx));
    assert.deepEqual((await rx.receive()).data, new Uint8Array([1]));
  },
});

Deno.test({
  name: "udp: IPv6 carries 65,527 bytes whole; 65,528 is refused by us and by the OS",
  permissions: V6,
  async fn() {
    await using rx = openDatagram({ hostname: "::1", port: 0 });
    await using tx = openDatagram({ hostname: "::1", port: 0 });
    await using unchecked = openDatagram({ hostname: "::1", port: 0, checkSize: false });
    assert.equal(tx.family, "ipv6");
    assert.equal(tx.maxPayload, MAX_UDP_PAYLOAD_IPV6);

    const big = payload(7, MAX_UDP_PAYLOAD_IPV6);
    assert.equal(await tx.send(big, to(rx)), 65_527);
    const got = await rx.receive();
    // Deno's bare receive() would have cut this to 65,507 bytes without a word.
    assert.equal(got.data.length, 65_527);
    assert.equal(got.truncated, false);
    assert.deepEqual(got.data, big);

    await assert.rejects(tx.send(new Uint8Array(65_528), to(rx)), (err: unknown) => {
      assert.ok(err instanceof DatagramTooLargeError);
      assert.deepEqual([err.size, err.limit, err.family, err.cause], [
        65_528,
        65_527,
        "ipv6",
        undefined,
      ]);
      return true;
    });
    await assert.rejects(unchecked.send(new Uint8Array(65_528), to(rx)), (err: unknown) => {
      assert.ok(err instanceof DatagramTooLargeError);
      assert.deepEqual([err.size, err.limit, err.family], [65_528, 65_527, "ipv6"]);
      assert.equal((err.cause as { code?: string }).code, "EMSGSIZE");
      return true;
    });
    // Brackets around the literal are accepted and stripped.
    await tx.send(new Uint8Array([4, 2]), { hostname: "[::1]", port: to(rx).port });
    assert.deepEqual((await rx.receive()).data, new Uint8Array([4, 2]));
  },
});

Deno.test({
  name: "udp: Deno's bare receive() truncates IPv6 datagrams silently (why we do not use it)",
  permissions: V6,
  async fn() {
    await using tx = openDatagram({ hostname: "::1", port: 0 });
    const raw = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
    try {
      await tx.send(new Uint8Array(65_527), raw.addr as Deno.NetAddr);
      const [data] = await raw.receive();
      assert.equal(data.length, 65_507);
    } finally {
      raw.close();
    }
  },
});

Deno.test({
  name: "udp: a too-small buffer loses the rest and reports truncated (a maybe)",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const sent = payload(1, 100);
    await tx.send(sent, to(rx));
    await tx.send(payload(2, 10), to(rx));
    await tx.send(payload(3, 9), to(rx));
    await tx.send(payload(4, 5), to(rx));

    const buffer = new Uint8Array(10);
    const first = await rx.receive({ buffer });
    assert.equal(first.data.length, 10);
    assert.equal(first.truncated, true);
    assert.deepEqual(first.data, sent.subarray(0, 10));
    assert.equal(first.data.buffer, buffer.buffer); // a view of the caller's buffer

    // The other 90 bytes are gone: the next receive is the next datagram.
    const exact = await rx.receive({ buffer });
    assert.deepEqual(exact.data, payload(2, 10));
    assert.equal(exact.truncated, true); // exactly full looks the same as cut: a "maybe"
    const fits = await rx.receive({ buffer });
    assert.deepEqual(fits.data, payload(3, 9));
    assert.equal(fits.truncated, false); // not full: certainly whole

    // With a timeout the read goes through the socket's buffer, so the answer is exact.
    const copied = await rx.receive({ buffer: new Uint8Array(5), timeout: 1_000 });
    assert.deepEqual(copied.data, payload(4, 5));
    assert.equal(copied.truncated, false);
    await tx.send(payload(5, 8), to(rx));
    const cut = await rx.receive({ buffer: new Uint8Array(5), timeout: 1_000 });
    assert.deepEqual(cut.data, payload(5, 8).subarray(0, 5));
    assert.equal(cut.truncated, true);
  },
});

Deno.test({
  name: "udp: a small receiveBufferSize truncates receives without a buffer, and says so",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0, receiveBufferSize: 16 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    assert.equal(rx.receiveBufferSize, 16);
    await tx.send(payload(1, 40), to(rx));
    await tx.send(payload(2, 15), to(rx));
    const cut = await rx.receive();
    assert.deepEqual([cut.data.length, cut.truncated], [16, true]);
    const whole = await rx.receive();
    assert.deepEqual([whole.data.length, whole.truncated], [15, false]);
  },
});

Deno.test({
  name: "udp: empty datagrams are sent and received",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    assert.equal(await tx.send(new Uint8Array(0), to(rx)), 0);
    assert.equal(await tx.send(new Uint8Array([1]), to(rx)), 1);
    assert.equal(await tx.send(new Uint8Array(0), to(rx)), 0);
    const sizes = [];
    for (let i = 0; i < 3; i++) {
      const { data, truncated } = await rx.receive();
      assert.equal(truncated, false);
      sizes.push(data.length);
    }
    assert.deepEqual(sizes, [0, 1, 0]);
  },
});

Deno.test({
  name: "udp: sends not awaited one by one still go out in call order",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const count = 50;
    const sends = [];
    for (let i = 0; i < count; i++) sends.push(tx.send(new Uint8Array([i]), to(rx)));
    assert.deepEqual(await Promise.all(sends), Array(count).fill(1));
    const order = [];
    for (let i = 0; i < count; i++) order.push((await rx.receive()).data[0]);
    assert.deepEqual(order, Array.from({ length: count }, (_, i) => i));
  },
});

Deno.test({
  name: "udp: received data without a buffer is a fresh copy owned by the caller",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await tx.send(new Uint8Array([1, 2, 3]), to(rx));
    await tx.send(new Uint8Array([4, 5, 6]), to(rx));
    const a = await rx.receive();
    const b = await rx.receive();
    assert.notEqual(a.data.buffer, b.data.buffer);
    assert.equal(a.data.buffer.byteLength, 3); // not a view of a 64 KiB buffer
    assert.deepEqual(a.data, new Uint8Array([1, 2, 3]));
    a.data[0] = 99;
    assert.deepEqual(b.data, new Uint8Array([4, 5, 6]));
  },
});

Deno.test({
  name: "udp: a receive that times out does not lose the datagram that comes later",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await assert.rejects(rx.receive({ timeout: 20 }), Deno.errors.TimedOut);
    await tx.send(new Uint8Array([7, 7]), to(rx));
    // Whether or not it already landed in the pending read, the next receive gets it.
    const buffer = new Uint8Array(8);
    const { data } = await rx.receive({ buffer });
    assert.deepEqual(data, new Uint8Array([7, 7]));
    await assert.rejects(rx.receive({ timeout: 20 }), Deno.errors.TimedOut);
  },
});

Deno.test({
  name: "udp: concurrent receives are served one datagram each",
  permissions: V4,
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const receives = [rx.receive(), rx.receive(), rx.receive()];
    for (const n of [1, 2, 3]) await tx.send(new Uint8Array([n]), to(rx));
    const got = (await Promise.all(receives)).map((d) => d.data[0]);
    assert.deepEqual(got, [1, 2, 3]);
  },
});

Deno.test({
  name: "udp: close ends a waiting receive and the iteration; closed sockets refuse work",
  permissions: V4,
  async fn() {
    const socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const waiting = socket.receive();
    const iterated: number[] = [];
    const iteration = (async () => {
      for await (const { data } of socket) iterated.push(data.length);
    })();
    await socket.send(new Uint8Array(4), to(socket));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await waiting).data.length, 4);
    assert.equal(socket.closed, false);
    await socket[Symbol.asyncDispose]();
    assert.equal(socket.closed, true);
    await iteration; // ended without an error
    assert.deepEqual(iterated, []);
    await assert.rejects(socket.receive(), Deno.errors.BadResource);
    await assert.rejects(
      socket.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 9 }),
      Deno.errors.BadResource,
    );
    socket.close(); // twice is harmless

    const other = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const pending = other.receive();
    other.close();
    await assert.rejects(pending, Deno.errors.Interrupted);
    await other[Symbol.asyncDispose]();
  },
});

Deno.test({
  name: "udp: bad arguments throw TypeError or RangeError",
  permissions: V4,
  async fn() {
    assert.throws(() => openDatagram({ transport: "tcp" as "udp" }), TypeError);
    assert.throws(() => openDatagram({ port: -1 }), RangeError);
    assert.throws(() => openDatagram({ port: 65_536 }), RangeError);
    assert.throws(() => openDatagram({ port: 1.5 }), RangeError);
    assert.throws(() => openDatagram({ path: "/tmp/x.sock" }), TypeError);
    assert.throws(() => openDatagram({ transport: "unixpacket", port: 1 }), TypeError);
    assert.throws(() => openDatagram({ receiveBufferSize: 0 }), RangeError);
    assert.throws(() => openDatagram({ checkSize: "yes" as unknown as boolean }), TypeError);
    assert.throws(() => openDatagram(null as unknown as object), TypeError);

    await using socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const here = to(socket);
    await assert.rejects(socket.send("hi" as unknown as Uint8Array, here), TypeError);
    await assert.rejects(
      socket.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 0 }),
      RangeError,
    );
    await assert.rejects(socket.send(new Uint8Array(1), { path: "/tmp/x" }), TypeError);
    await assert.rejects(
      socket.send(new Uint8Array(1), null as unknown as Deno.NetAddr),
      TypeError,
    );
    await assert.rejects(socket.receive({ timeout: -1 }), RangeError);
    await assert.rejects(socket.receive({ timeout: Infinity }), RangeError);
    await assert.rejects(
      socket.receive({ buffer: [1] as unknown as Uint8Array<ArrayBuffer> }),
      TypeError,
    );
  },
});

Deno.test({
  name: "udp: a DatagramSocket wraps an existing Deno.DatagramConn",
  permissions: V4,
  async fn() {
    await using socket = new DatagramSocket(
      Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" }),
    );
    assert.equal(socket.transport, "udp");
    assert.equal(socket.receiveBufferSize, 65_536);
    await socket.send(new Uint8Array([5]), to(socket));
    assert.deepEqual((await socket.receive()).data, new Uint8Array([5]));
  },
});

Deno.test({
  name: "udp: a destination object changed between sends is checked again",
  permissions: { net: ["127.0.0.1", "[::1]"] },
  async fn() {
    await using rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using rx6 = openDatagram({ hostname: "::1", port: 0 });
    await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    await using tx6 = openDatagram({ hostname: "::1", port: 0 });
    const dest: { hostname: string; port: number } = { ...to(rx) };
    assert.equal(await tx.send(new Uint8Array([1]), dest), 1);
    dest.port = 0;
    await assert.rejects(tx.send(new Uint8Array([2]), dest), RangeError);
    dest.port = 70_000;
    await assert.rejects(tx.send(new Uint8Array([2]), dest), RangeError);
    dest.port = to(rx).port;
    assert.equal(await tx.send(new Uint8Array([3]), dest), 1);
    assert.deepEqual((await rx.receive()).data, new Uint8Array([1]));
    assert.deepEqual((await rx.receive()).data, new Uint8Array([3]));

    // The family, and so the limit, follows the hostname: 65,527 B go to ::1, not to 127.0.0.1.
    const six = { hostname: "[::1]", port: to(rx6).port };
    assert.equal(await tx6.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV6), six), 65_527);
    assert.equal((await rx6.receive()).data.length, 65_527);
    await assert.rejects(
      tx6.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV6), { hostname: "::ffff:127.0.0.1", port: 9 }),
      DatagramTooLargeError,
    );
    assert.equal(await tx6.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV6), six), 65_527);
    assert.equal((await rx6.receive()).data.length, 65_527);
  },
});

Deno.test({
  name: "udp: sends and receives still queued at close are refused, none is left hanging",
  permissions: V4,
  async fn() {
    const rx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const sends = [1, 2, 3].map((n) => tx.send(new Uint8Array([n]), to(rx)));
    tx.close();
    const sent = await Promise.allSettled(sends);
    for (const result of sent.slice(1)) {
      assert.equal(result.status, "rejected");
      assert.ok((result as PromiseRejectedResult).reason instanceof Deno.errors.BadResource);
    }
    const receives = [rx.receive(), rx.receive({ buffer: new Uint8Array(4) }), rx.receive()];
    rx.close();
    for (const result of await Promise.allSettled(receives)) {
      assert.equal(result.status, "rejected");
      assert.ok((result as PromiseRejectedResult).reason instanceof Deno.errors.Interrupted);
    }
    await tx[Symbol.asyncDispose]();
    await rx[Symbol.asyncDispose]();
  },
});
