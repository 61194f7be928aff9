// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { type DenoRun, examplePath, runDeno } from "./_run_deno.ts";

const demo = examplePath("demo.ts");

function run(
  args: string[],
  flags = ["--unstable-net", "--allow-net=127.0.0.1"],
): Promise<DenoRun> {
  return runDeno(["run", "--no-config", ...flags, demo, ...args]);
}

const permissions: Deno.TestDefinition["permissions"] = {
  run: [Deno.execPath()],
  read: true,
  env: true,
};

Deno.test({
  name: "demo --json: raw TCP merges or splits, framed TCP and UDP keep boundaries (3 runs)",
  permissions,
  async fn() {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { code, out, err } = await run(["--json"]);
      assert.equal(code, 0, `run ${attempt}: ${err}`);
      const report = JSON.parse(out);
      const { tcpRaw, tcpFramed, udp } = report.columns;
      const sizes: number[] = report.messages.sizes;
      const total = sizes.reduce((a, b) => a + b, 0);
      assert.equal(report.asExpected, true, JSON.stringify(report.problems));
      assert.deepEqual(report.problems, []);

      // raw TCP: the receiver's reads do not line up with the messages
      assert.ok(tcpRaw.merged > 0 || tcpRaw.split > 0, `run ${attempt}: neither merged nor split`);
      assert.notEqual(tcpRaw.verdict, "kept");
      assert.equal(tcpRaw.boundariesKept, false);
      assert.equal(tcpRaw.readBufferSize, 1024);
      assert.equal(tcpRaw.reads.length, tcpRaw.receives);
      assert.ok(tcpRaw.reads.every((n: number) => n > 0 && n <= 1024));
      assert.equal(tcpRaw.reads.reduce((a: number, b: number) => a + b, 0), total);
      assert.equal(tcpRaw.largestMessage.bytes, 1024 * 1024);
      assert.equal(tcpRaw.largestMessage.arrived, "split");
      assert.ok(tcpRaw.largestMessage.receives >= 1024); // 1 MiB through recv(1024)
      assert.equal(tcpRaw.emptyMessage.arrived, false);
      assert.equal(tcpRaw.emptyWriteReturned, 0);
      assert.equal(tcpRaw.inOrder, true);
      assert.equal(tcpRaw.lostBytes, 0);

      // framed TCP: every message whole, in order, the empty one too
      assert.equal(tcpFramed.boundariesKept, true);
      assert.equal(tcpFramed.verdict, "kept");
      assert.equal(tcpFramed.receives, sizes.length);
      assert.equal(tcpFramed.messagesWhole, sizes.length);
      assert.equal(tcpFramed.inOrder, true);
      assert.equal(tcpFramed.emptyMessage.arrived, true);
      assert.equal(tcpFramed.largestMessage.arrived, "whole");
      assert.equal(
        tcpFramed.socketReads.reduce((a: number, b: number) => a + b, 0),
        total + 4 * sizes.length,
      );

      // UDP: boundaries kept, the 1 MiB message refused with the typed error
      assert.equal(udp.boundariesKept, true);
      assert.equal(udp.verdict, "kept");
      assert.equal(udp.transmit.mismatched, 0);
      assert.deepEqual(udp.refused.map((r: { bytes: number }) => r.bytes), [1024 * 1024]);
      assert.equal(udp.refused[0].error, "DatagramTooLargeError");
      assert.equal(udp.refused[0].limit, 65_507);
      assert.match(udp.refused[0].message, /1,048,576 bytes exceeds .* limit of 65,507 bytes/);
      assert.equal(udp.largestMessage.arrived, "refused");
      assert.equal(udp.transmit.sent, sizes.length - 1);
      assert.equal(udp.transmit.largestSent, 65_507);
      assert.equal(udp.emptyMessage.sent, true);
      if (udp.lost === 0) {
        assert.equal(udp.emptyMessage.arrived, true);
        assert.equal(udp.transmit.largestReceived, 65_507);
      }

      assert.ok(Array.isArray(report.picture) && report.picture.length > 0);
      assert.ok(report.permissions.some((p: string) => p.startsWith("--allow-net=127.0.0.1")));
    }
  },
});

Deno.test({
  name: "demo: plain output exits 0 and prints the three columns, verdicts and the picture",
  permissions,
  async fn() {
    const { code, out, err } = await run([]);
    assert.equal(code, 0, err);
    assert.ok(!out.includes("\x1b["), "no colours when stdout is not a terminal");
    assert.match(out, /^\s+TCP raw\s+TCP framed\s+UDP$/m);
    assert.match(out, /^boundaries\s+lost\s+kept\s+kept$/m);
    assert.match(out, /Permissions: --allow-net=127\.0\.0\.1 \(loopback only\)/);
    assert.match(out, /^ {2}✘ TCP raw {5}boundaries lost/m);
    assert.match(out, /^ {2}✔ TCP framed {2}boundaries kept/m);
    assert.match(out, /^ {2}✔ UDP {9}boundaries kept/m);
    assert.match(out, /1 MiB refused:/);
    assert.match(out, /DatagramTooLargeError/);
    assert.match(out, /^sent +\|0 +\|1 /m);
    assert.match(out, /^TCP raw: reads +\[r1/m);
    assert.match(out, /^UDP: receive\(\) .*✘ refused/m);
    assert.match(out, /All as described/);
  },
});

Deno.test({
  name: "demo: --help exits 0, bad flags exit 2, no net permission exits 1",
  permissions,
  async fn() {
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: deno task demo/);
    assert.match(help.out, /Permissions: --allow-net=127\.0\.0\.1 \(loopback only\)/);

    const unknown = await run(["--bogus"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /Usage: /);
    const width = await run(["--width", "10"]);
    assert.equal(width.code, 2);
    assert.match(width.err, /--width must be an integer from 72 to 200/);

    const denied = await run([], ["--unstable-net"]);
    assert.equal(denied.code, 1);
    assert.match(denied.err, /needs --allow-net=127\.0\.0\.1/);
  },
});
