import assert from "node:assert/strict";
import { type DenoRun, examplePath, runDeno } from "./_run_deno.ts";

const script = examplePath("sticky_packets.ts");

function run(...args: string[]): Promise<DenoRun> {
  return runDeno(["run", "--allow-net=127.0.0.1", script, ...args]);
}

Deno.test({
  name: "examples/sticky_packets.ts: shows merge, split and the framed cure, exits 0",
  permissions: { run: true, read: true, env: true },
  async fn() {
    const { code, out, err } = await run(
      "--messages",
      "30",
      "--size",
      "200000",
      "--buffer",
      "1000",
    );
    assert.equal(code, 0, err);
    // (a) both Nagle settings, 30 messages in fewer reads
    const merged = [...out.matchAll(/30 messages sent → (\d+) reads?/g)].map((m) => Number(m[1]));
    assert.equal(merged.length, 2, out);
    for (const reads of merged) assert.ok(reads < 30, `no merge shown: ${reads} reads`);
    assert.match(out, /sent +\|msg0 *\|msg1 *\|/);
    assert.match(out, /recv\(1000\) \[r1 /);
    // (b) 200,000 bytes through recv(1000): at least 200 reads
    const split = /one message of 200,000 bytes .* split across ([\d,]+) reads/.exec(out);
    assert.ok(split !== null, out);
    assert.ok(Number(split[1].replaceAll(",", "")) >= 200);
    assert.match(
      out,
      /\|one message of 200,000 bytes +…\n +recv\(1000\) \[r1 +\]\[r2 +\]\[r3 +\]\[r4 +\]…/,
    );
    assert.match(out, /1 message split, over [\d,]+ reads/);
    // (c) exactly as sent
    assert.match(out, /31 messages sent → 31 frames received, each exactly as sent/);
    assert.match(out, /sent +\|msg0\|msg1\|.*\n +receive\(\) \[r1 \]\[r2 \]/);
    assert.match(out, /31 of 31 messages arrived alone in one receive\(\)/);
  },
});

Deno.test({
  name: "examples/sticky_packets.ts: --help exits 0, bad usage exits 2",
  permissions: { run: true, read: true, env: true },
  async fn() {
    const help = await run("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /--messages/);
    const bad = await run("--size", "-3");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--size/);
    const unknown = await run("--bogus");
    assert.equal(unknown.code, 2);
  },
});
