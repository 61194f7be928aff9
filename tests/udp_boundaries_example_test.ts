// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { type DenoRun, examplePath, runDeno } from "./_run_deno.ts";

const example = examplePath("udp_boundaries.ts");

function run(...args: string[]): Promise<DenoRun> {
  return runDeno(
    ["run", "--no-config", "--unstable-net", "--allow-net=127.0.0.1,[::1]", example, ...args],
    { NO_COLOR: "1" },
  );
}

Deno.test({
  name: "examples/udp_boundaries.ts: runs every demonstration and exits 0",
  permissions: { run: [Deno.execPath()], read: true, env: true },
  async fn() {
    const { code, out, err } = await run("--burst-count", "500");
    assert.equal(code, 0, out + err);
    assert.match(out, /sent 8 datagrams .*\n\s+received 8, whole 8, lost 0/);
    assert.match(out, /65,508 bytes exceeds the IPv4 UDP payload limit of 65,507 bytes/);
    assert.match(out, /sent 100 bytes, received 10 into a 10-byte buffer \(truncated: true\)/);
    assert.match(out, /sent 500 × 4,096 B = 2,048,000 B; received \d+; lost \d+/);
    assert.match(out, /All as described\./);
  },
});

Deno.test({
  name: "examples/udp_boundaries.ts: --help exits 0, bad flags exit 2",
  permissions: { run: [Deno.execPath()], read: true, env: true },
  async fn() {
    const help = await run("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: /);
    const unknown = await run("--bogus");
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /Usage: /);
    const badSize = await run("--burst-size", "70000");
    assert.equal(badSize.code, 2);
    assert.match(badSize.err, /--burst-size must be an integer from 0 to 65507/);
  },
});
