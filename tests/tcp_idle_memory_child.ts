/**
 * Run by `tests/tcp_buffers_test.ts` with `--v8-flags=--expose-gc`: opens 100 framed loopback
 * connection pairs, one round trip each, collects garbage, and prints the `ArrayBuffer` bytes
 * that each connection holds (`Deno.memoryUsage().external`).
 *
 * @module
 */
import { connectFramed, type FramedConn, listenFramed } from "../tcp/mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
const PAIRS = 100;
await using listener = listenFramed({ port: 0 });
gc();
const before = Deno.memoryUsage().external;
const conns: FramedConn[] = [];
for (let i = 0; i < PAIRS; i++) {
  const client = await connectFramed({ port: listener.addr.port });
  const server = (await listener.accept())!;
  await client.send(new Uint8Array(32));
  await server.send((await server.receive())!);
  await client.receive();
  conns.push(client, server);
}
gc();
console.log(
  JSON.stringify({ perConnection: (Deno.memoryUsage().external - before) / conns.length }),
);
for (const conn of conns) await conn.close();
