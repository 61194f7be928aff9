/**
 * The receiving process of `tests/tcp_bench.ts`: listens on 127.0.0.1 port 0, prints
 * `port <n>`, then serves one connection at a time. The first byte of a connection picks how it
 * is read:
 *
 * - `1`: raw bytes, into one reused 256 KiB buffer, counted;
 * - `2`: frames, through `FramedConn` (`for await … of conn`), counted;
 * - `3`: frames, raw reads into fresh buffers fed to a zero-copy `FrameDecoder`, counted;
 * - `0`: exit.
 *
 * At the sender's EOF it writes back `<frames> <bytes>\n` and closes.
 *
 * @module
 */
import { FramedConn, writeAll } from "../tcp/mod.ts";
import { FrameDecoder } from "../framing/mod.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(`port ${listener.addr.port}`);
const maxFrameLength = 64 * 1024 * 1024;

for await (const conn of listener) {
  const mode = new Uint8Array(1);
  if (await conn.read(mode) !== 1 || mode[0] === 0) {
    conn.close();
    break;
  }
  let frames = 0;
  let bytes = 0;
  if (mode[0] === 1) {
    const buffer = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      bytes += n;
    }
  } else if (mode[0] === 2) {
    const framed = new FramedConn(conn, { maxFrameLength });
    for await (const frame of framed) {
      frames++;
      bytes += frame.length;
    }
  } else {
    const decoder = new FrameDecoder({ maxFrameLength });
    for (;;) {
      const buffer = new Uint8Array(256 * 1024);
      const n = await conn.read(buffer);
      if (n === null) break;
      decoder.feed(buffer.subarray(0, n));
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        frames++;
        bytes += frame.length;
      }
    }
    decoder.finish();
  }
  await writeAll(conn, new TextEncoder().encode(`${frames} ${bytes}\n`));
  conn.close();
}
// leaving the for-await loop closed the listener
