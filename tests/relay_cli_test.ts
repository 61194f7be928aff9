// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { openDatagram } from "../udp/mod.ts";
import { examplePath, runDeno } from "./_run_deno.ts";

const relay = examplePath("relay.ts");
const flags = ["run", "--no-config", "--unstable-net", "--allow-net=127.0.0.1"];

/** Starts the relay program; resolves once it printed its address. Dispose to stop it. */
async function start(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...flags, relay, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const chunks = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await chunks.next();
    if (done) break;
    text += value;
  }
  const rest = (async () => {
    for await (const chunk of chunks) text += chunk;
    return text;
  })();
  const first = text.split("\n")[0];
  const finished = Promise.all([child.status, rest, stderr]);
  const done = async () => {
    const [status, out, err] = await finished;
    return { status, out: out.slice(first.length + 1), err };
  };
  return {
    port: Number(/127\.0\.0\.1:(\d+) →/.exec(first)?.[1]),
    first,
    done,
    async [Symbol.asyncDispose]() {
      try {
        child.kill();
      } catch { /* already exited */ }
      await finished;
    },
  };
}

const permissions: Deno.TestDefinition["permissions"] = {
  run: [Deno.execPath()],
  read: true,
  net: ["127.0.0.1"],
};

Deno.test({
  name: "relay CLI: udp --down-duplicate 1 duplicates replies only and prints its statistics",
  permissions,
  async fn() {
    await using server = openDatagram();
    const target = `127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
    await using program = await start([
      "udp",
      "--listen",
      "127.0.0.1:0",
      "--target",
      target,
      "--down-duplicate",
      "1",
      "--seed",
      "9",
      "--duration",
      "1500",
      "--json",
    ]);
    assert.match(program.first, /seed 9$/);
    await using client = openDatagram();
    await client.send(new TextEncoder().encode("ping"), {
      hostname: "127.0.0.1",
      port: program.port,
    });
    const { data, addr } = await server.receive({ timeout: 5000 });
    await server.send(data, addr as Deno.NetAddr);
    assert.equal((await client.receive({ timeout: 5000 })).data.length, 4);
    assert.equal((await client.receive({ timeout: 5000 })).data.length, 4); // the duplicate
    const { status, out, err } = await program.done();
    assert.equal(status.code, 0, err);
    const report = JSON.parse(out);
    assert.equal(report.seed, 9);
    assert.equal(report.stats.up.forwarded, 1);
    assert.equal(report.stats.down.duplicated, 1);
    assert.equal(report.stats.down.forwarded, 2);
  },
});

Deno.test({
  name: "relay CLI: tcp --slice 1..3 slices and prints per-direction statistics",
  permissions,
  async fn() {
    using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using program = await start([
      "tcp",
      "--target",
      `127.0.0.1:${server.addr.port}`,
      "--slice",
      "1..3",
      "--duration",
      "1500",
    ]);
    {
      using client = await Deno.connect({ hostname: "127.0.0.1", port: program.port });
      using conn = await server.accept();
      await client.write(new TextEncoder().encode("hello, relay"));
      await client.closeWrite();
      assert.equal(await new Response(conn.readable).text(), "hello, relay");
    }
    const { status, out, err } = await program.done();
    assert.equal(status.code, 0, err);
    assert.match(
      out,
      /up {3}\(client → server\): bytesIn 12, bytesOut 12, reads 1, writes (\d+), smallestWrite \d, largestWrite [1-3]/,
    );
    assert.match(out, /connections: 1/);
  },
});

Deno.test({
  name: "relay CLI: usage errors exit 2 (non-loopback, bad flag, bad value); --help exits 0",
  permissions,
  async fn() {
    for (
      const args of [
        ["tcp", "--target", "203.0.113.5:80"], // documentation address: refused before any socket
        ["udp", "--target", "127.0.0.1:9", "--loss", "2"],
        ["tcp", "--target", "127.0.0.1:9", "--loss", "0.1"],
        ["tcp", "--target", "127.0.0.1:9", "--slice", "9..1"],
        ["ftp", "--target", "127.0.0.1:9"],
      ]
    ) {
      const { code, err } = await runDeno([...flags, relay, ...args]);
      assert.equal(code, 2, `${args.join(" ")}: ${err}`);
      assert.match(err, /^relay: /);
    }
    const help = await runDeno([...flags, relay, "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /--reset-after BYTES/);
  },
});
