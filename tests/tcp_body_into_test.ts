import assert from "node:assert/strict";
import { encodeEnvelopeHeader, encodeFrame, TruncatedFrameError } from "../framing/mod.ts";
import { FramedConn } from "../tcp/mod.ts";

/** A scripted connection that hands out `chunks` one read at a time, then the end. */
function scripted(chunks: Uint8Array[]): Deno.Conn {
  return {
    read(p: Uint8Array): Promise<number | null> {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      const n = Math.min(p.length, chunk.length);
      p.set(chunk.subarray(0, n));
      if (n < chunk.length) chunks.unshift(chunk.subarray(n));
      return Promise.resolve(n);
    },
    write: (p: Uint8Array) => Promise.resolve(p.length),
    close() {},
  } as unknown as Deno.Conn;
}

Deno.test({
  name: "readBodyInto: a body read straight into the caller's buffer, however it is cut, " +
    "then the next frame",
  permissions: "none",
  async fn() {
    const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff);
    const wire = new Uint8Array([
      ...encodeEnvelopeHeader({ name: "f" }, body.length),
      ...body,
      ...encodeFrame(new Uint8Array([42])),
    ]);
    for (const cut of [999, 4096, 65536, 1 << 20]) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < wire.length; at += cut) chunks.push(wire.subarray(at, at + cut));
      const conn = new FramedConn(scripted(chunks));
      const envelope = (await conn.receiveEnvelope())!;
      const got = new Uint8Array(envelope.bodyLength + 10);
      let filled = 0;
      for (let n; (n = await conn.readBodyInto(got.subarray(filled, filled + 5000))) !== null;) {
        filled += n;
      }
      assert.equal(filled, body.length, `cut ${cut}`);
      assert.deepEqual(got.subarray(0, filled), body);
      assert.deepEqual(await conn.receive(), new Uint8Array([42]));
      assert.equal(await conn.receive(), null);
    }
  },
});

Deno.test({
  name: "readBodyInto: a truncated body throws TruncatedFrameError; no body is a TypeError",
  permissions: "none",
  async fn() {
    const conn = new FramedConn(scripted([]));
    await assert.rejects(conn.readBodyInto(new Uint8Array(4)), TypeError);
    const cut = new FramedConn(scripted([
      new Uint8Array([...encodeEnvelopeHeader({}, 10), 1, 2, 3]),
    ]));
    await cut.receiveEnvelope();
    const buffer = new Uint8Array(10);
    assert.equal(await cut.readBodyInto(buffer), 3);
    await assert.rejects(cut.readBodyInto(buffer.subarray(3)), TruncatedFrameError);
  },
});
