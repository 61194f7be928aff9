import assert from "node:assert/strict";
import { connectFramed, serveFramed } from "../tcp/mod.ts";

/**
 * 200 concurrent clients × 50 frames each (about 330 MB, a few seconds), sizes drawn uniformly
 * from 0 to 65,536 bytes (seeded, so every run sends the same bytes), every frame echoed and
 * checked byte-exact (length, first, middle and last byte, which encode the client and the frame
 * index). `SOCKKIT_FULL_LOAD=1` runs the full size: 1,000 frames each, about 6.5 GB.
 */
const FULL = Deno.permissions.querySync({ name: "env", variable: "SOCKKIT_FULL_LOAD" }).state ===
    "granted" && Deno.env.get("SOCKKIT_FULL_LOAD") === "1";
const FRAMES = FULL ? 1000 : 50;

Deno.test({
  name: `tcp load: 200 clients × ${FRAMES} frames of 0–64 KiB, all echoed byte-exact`,
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const CLIENTS = 200;
    await using server = serveFramed({
      port: 0,
      maxConnections: CLIENTS,
      async handler(conn) {
        for await (const frame of conn) await conn.send(frame);
      },
      onError(error) {
        throw error;
      },
    });
    const port = server.addr.port;
    let seed = 0x5eed;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const plans = Array.from(
      { length: CLIENTS },
      (_, c) =>
        Array.from({ length: FRAMES }, (_, i) =>
          // the edges of the range are always in: 0, 1, 65,535 and 65,536 bytes
          i < 4 ? [0, 1, 65535, 65536][(i + c) % 4] : Math.floor(random() * 65537)),
    );
    // the first, middle and last byte of each frame name its client and index (a Map: for tiny
    // frames the positions coincide and the last one wins, as when writing the payload)
    const marks = (c: number, i: number, n: number): Map<number, number> => {
      const base = c * 131 + i * 7;
      if (n === 0) return new Map();
      return new Map([[0, base & 255], [n >> 1, (base + 1) & 255], [n - 1, (base + 2) & 255]]);
    };
    let frames = 0;
    let bytes = 0;
    const started = performance.now();
    await Promise.all(plans.map(async (sizes, c) => {
      await using client = await connectFramed({ port });
      const receiving = (async () => {
        let i = 0;
        for await (const frame of client) {
          const n = sizes[i];
          assert.equal(frame.length, n, `client ${c} frame ${i}: length`);
          for (const [at, value] of marks(c, i, n)) {
            assert.equal(frame[at], value, `client ${c} frame ${i}: byte ${at} of ${n}`);
          }
          frames++;
          bytes += n;
          if (++i === FRAMES) return;
        }
        assert.fail(`client ${c}: stream ended after ${i} frames`);
      })();
      const sending = (async () => {
        for (let i = 0; i < FRAMES; i++) {
          const n = sizes[i];
          const payload = new Uint8Array(n).fill(i & 255);
          for (const [at, value] of marks(c, i, n)) payload[at] = value;
          await client.send(payload);
        }
      })();
      await Promise.all([sending, receiving]);
      await client.closeWrite();
      assert.equal(await client.receive(), null);
    }));
    const seconds = (performance.now() - started) / 1000;
    assert.equal(frames, CLIENTS * FRAMES);
    const expected = plans.flat().reduce((a, b) => a + b, 0);
    assert.equal(bytes, expected);
    console.log(
      `    ${frames} frames, ${(bytes / 1e9).toFixed(2)} GB echoed in ${seconds.toFixed(1)} s`,
    );
  },
});
