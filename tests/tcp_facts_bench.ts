/**
 * Two facts about Deno's TCP that sockkit is built around, measured on loopback:
 * - one `conn.write()` of a 64 MiB buffer to a peer that is not reading writes only part of it
 *   (what the kernel's send and receive buffers take), like Python's `send()`;
 * - with Nagle on (Deno's default), a write-write-read exchange stalls for about the peer's
 *   delayed-ACK time (~40 ms on Linux); with `setNoDelay(true)` it does not.
 *
 * `deno task bench tcp_facts`.
 *
 * @module
 */

const ROUNDS = 20;

async function partialWrite(): Promise<number> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using server = await accepted; // never reads
  const n = await client.write(new Uint8Array(64 * 1024 * 1024));
  void server;
  return n;
}

/** Median milliseconds of a request sent as two writes, answered by one byte. */
async function writeWriteRead(noDelay: boolean): Promise<number> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using server = await accepted;
  client.setNoDelay(noDelay);
  const serving = (async () => {
    const buf = new Uint8Array(64);
    for (let round = 0; round < ROUNDS; round++) {
      let got = 0;
      while (got < 20) {
        const n = await server.read(buf.subarray(got));
        if (n === null) return;
        got += n;
      }
      await server.write(new Uint8Array([1]));
    }
  })();
  const times: number[] = [];
  const reply = new Uint8Array(1);
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    await client.write(new Uint8Array(10)); // a header…
    await client.write(new Uint8Array(10)); // …and a body, as two writes
    if (await client.read(reply) === null) throw new Error("the server closed");
    times.push(performance.now() - start);
  }
  await serving;
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const writes: number[] = [];
for (let i = 0; i < 3; i++) writes.push(await partialWrite());
console.log(
  `one conn.write() of 64 MiB to a peer not reading wrote ${
    writes.map((n) => `${(n / 1e6).toFixed(1)} MB`).join(", ")
  } (3 tries)`,
);
const on = await writeWriteRead(false);
const off = await writeWriteRead(true);
console.log(
  `write-write-read, median of ${ROUNDS}: Nagle on ${on.toFixed(1)} ms, Nagle off ${
    off.toFixed(2)
  } ms`,
);
