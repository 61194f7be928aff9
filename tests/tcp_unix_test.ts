/**
 * Framed connections over unix sockets.
 *
 * Deno 2.9 checks a unix socket against `--allow-net=unix:<exact path>` (plus read and write),
 * and `deno task test` grants only loopback addresses, which a test cannot widen. So the test
 * runs this same file as a child `deno run` with exactly one socket path allowed; the child does
 * every check on real unix sockets and exits non-zero on the first failure.
 */
import assert from "node:assert/strict";
import {
  connectFramed,
  connectionErrorKind,
  listenFramed,
  serveFramed,
  TimeoutError,
  writeAll,
} from "../tcp/mod.ts";
import { encodeFrame, equalBytes, TruncatedFrameError } from "../framing/mod.ts";

async function child(dir: string): Promise<void> {
  const path = `${dir}/framed.sock`;
  const report: Record<string, number | string> = {};

  // 1. an echo server, several clients at once, every size class, byte-exact
  {
    await using server = serveFramed({
      transport: "unix",
      path,
      async handler(conn) {
        for await (const frame of conn) await conn.send(frame);
      },
    });
    assert.equal(server.addr.transport, "unix");
    assert.equal(server.addr.path, path);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    let frames = 0;
    let bytes = 0;
    await Promise.all(Array.from({ length: 20 }, async (_, c) => {
      await using client = await connectFramed({ transport: "unix", path });
      assert.equal(client.remoteAddr.transport, "unix");
      const sizes = Array.from(
        { length: 300 },
        (_, i) => i === 0 ? 0 : i === 1 ? 65536 : Math.floor(random() * 65537),
      );
      const payloads = sizes.map((n, i) => new Uint8Array(n).fill((c * 7 + i) & 255));
      const receiving = (async () => {
        let i = 0;
        for await (const frame of client) {
          assert.ok(equalBytes(frame, payloads[i]), `client ${c} frame ${i} differs`);
          frames++;
          bytes += frame.length;
          if (++i === payloads.length) break;
        }
        assert.equal(i, payloads.length);
      })();
      for (const payload of payloads) await client.send(payload);
      await receiving;
      await client.closeWrite();
      assert.equal(await client.receive(), null);
    }));
    report.echoedFrames = frames;
    report.echoedBytes = bytes;
  }

  // 2. a listener on a fresh path: envelopes, truncation and the idle deadline
  await Deno.remove(path).catch(() => {});
  {
    await using listener = listenFramed({ transport: "unix", path, idleTimeout: 200 });
    {
      await using client = await connectFramed({ transport: "unix", path });
      await using server = (await listener.accept())!;
      await client.send(new Uint8Array([1]));
      await client.sendEnvelope({ name: "n" }, new Uint8Array(100_000).fill(3));
      await client.send(new Uint8Array([2]));
      assert.deepEqual(await server.receive(), new Uint8Array([1]));
      const envelope = (await server.receiveEnvelope())!;
      assert.equal(envelope.bodyLength, 100_000);
      const body = new Uint8Array(await new Response(envelope.body).arrayBuffer());
      assert.ok(body.every((b) => b === 3));
      assert.deepEqual(await server.receive(), new Uint8Array([2]));
      // nothing more arrives: idle timeout
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TimeoutError && error.kind === "idle", String(error));
      report.idle = "TimeoutError idle";
    }
    {
      const raw = await Deno.connect({ transport: "unix", path });
      await using server = (await listener.accept())!;
      await writeAll(raw, encodeFrame(new Uint8Array(10)).subarray(0, 3));
      raw.close();
      const error = await server.receive().then(() => undefined, (e) => e);
      assert.ok(error instanceof TruncatedFrameError && error.part === "header", String(error));
      report.truncated = `TruncatedFrameError ${error.part} ${error.received}/${error.expected}`;
    }
  }

  // 3. a path where nothing listens
  await Deno.remove(path).catch(() => {});
  const missing = await connectFramed({ transport: "unix", path }).then(() => undefined, (e) => e);
  assert.equal(connectionErrorKind(missing), "not-found", String(missing));
  report.missing = connectionErrorKind(missing);

  console.log(`unix ok ${JSON.stringify(report)}`);
}

if (import.meta.main) {
  await child(Deno.args[0]);
}

Deno.test({
  name: "tcp/unix: framed connections over unix sockets (in a child with the path allowed)",
  permissions: { read: true, write: true, run: true, env: true },
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sockkit_unix_" });
    try {
      const path = `${dir}/framed.sock`;
      const command = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          `--allow-net=unix:${path}`,
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          new URL(import.meta.url).pathname,
          dir,
        ],
        stdout: "piped",
        stderr: "piped",
      });
      const process = command.spawn();
      const timer = setTimeout(() => process.kill("SIGKILL"), 60_000);
      const { code, stdout, stderr } = await process.output();
      clearTimeout(timer);
      const out = new TextDecoder().decode(stdout);
      assert.equal(code, 0, `child failed:\n${out}\n${new TextDecoder().decode(stderr)}`);
      const line = out.split("\n").find((l) => l.startsWith("unix ok "));
      assert.ok(line !== undefined, out);
      const report = JSON.parse(line.slice("unix ok ".length));
      assert.equal(report.echoedFrames, 20 * 300);
      assert.ok(report.echoedBytes > 20 * 300 * 20_000);
      assert.equal(report.idle, "TimeoutError idle");
      assert.equal(report.truncated, "TruncatedFrameError header 3/4");
      assert.equal(report.missing, "not-found");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
