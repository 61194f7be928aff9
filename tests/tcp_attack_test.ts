/**
 * serveFramed against the attacks a public server meets, over real loopback sockets: a peer that
 * never reads, and a flood of sockets that never authenticate.
 */
import assert from "node:assert/strict";
import { connectFramed, serveFramed, TimeoutError, writeAll } from "../tcp/mod.ts";
import { encodeFrame } from "../framing/mod.ts";

const NET = { net: ["127.0.0.1"] };
const text = new TextEncoder();
const untext = new TextDecoder();

Deno.test({
  name:
    "attack: a peer that asks for data and never reads is dropped at writeTimeout, its slot freed",
  permissions: NET,
  async fn() {
    const errors: unknown[] = [];
    await using server = serveFramed({
      port: 0,
      maxConnections: 1,
      writeTimeout: 200,
      highWaterMark: 64 * 1024,
      async handler(conn) {
        for await (const request of conn) {
          const n = Number(untext.decode(request));
          for (let i = 0; i < n; i++) await conn.send(new Uint8Array(64 * 1024));
        }
      },
      onError: (error) => errors.push(error),
    });
    const port = server.addr.port;
    // the attacker asks for 1 GiB and reads nothing
    const attacker = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(attacker, encodeFrame(text.encode("16384")));
    // the one slot is taken: an honest client waits for it, then is served
    await using honest = await connectFramed({ port });
    await honest.send(text.encode("1"));
    const reply = await honest.receive();
    assert.equal(reply?.length, 64 * 1024);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof TimeoutError, String(errors[0]));
    assert.equal(errors[0].kind, "write");
    attacker.close();
  },
});

Deno.test({
  name: "attack: 80 sockets that never authenticate, reconnecting, do not keep a token holder out",
  permissions: NET,
  async fn() {
    const token = "s3cret";
    const served: number[] = [];
    await using server = serveFramed({
      port: 0,
      maxHandshakes: 64,
      handshakeTimeout: 10_000, // the default: the pool's eviction, not the deadline, does the work
      async handshake(conn) {
        const proof = await conn.receive();
        if (proof === null || untext.decode(proof) !== token) throw new Error("bad token");
        return "client";
      },
      async handler(conn, info) {
        assert.equal(info.handshake, "client");
        for await (const frame of conn) await conn.send(frame);
      },
      onError() {},
    });
    const port = server.addr.port;
    // the attacker: 80 sockets that connect and say nothing; each one dropped reconnects at once
    const stop = new AbortController();
    let attacks = 0;
    const attacker = async () => {
      while (!stop.signal.aborted) {
        let socket: Deno.Conn;
        try {
          socket = await Deno.connect({ hostname: "127.0.0.1", port });
        } catch {
          continue;
        }
        attacks++;
        const dropped = socket.read(new Uint8Array(1)).catch(() => null);
        const stopped = new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
        await Promise.race([dropped, stopped]);
        socket.close();
        await dropped;
      }
    };
    const attackers = Array.from({ length: 80 }, attacker);
    while (attacks < 80) await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      for (let i = 0; i < 25; i++) {
        try {
          await using client = await connectFramed({
            port,
            connectTimeout: 2000,
            idleTimeout: 2000,
          });
          await client.send(text.encode(token));
          await client.send(text.encode(`request ${i}`));
          if (untext.decode((await client.receive()) ?? new Uint8Array()) === `request ${i}`) {
            served.push(i);
          }
        } catch {
          // not served this time
        }
      }
    } finally {
      stop.abort();
      await Promise.all(attackers);
    }
    assert.ok(attacks > 80, `the attacker reconnected (${attacks} sockets)`);
    assert.equal(
      served.length,
      25,
      `served ${served.length} of 25 while ${attacks} sockets attacked`,
    );
  },
});
