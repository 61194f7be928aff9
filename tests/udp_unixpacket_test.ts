// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { runDeno } from "./_run_deno.ts";

Deno.test({
  name: "udp: unixpacket carries datagrams beyond UDP's limit, whole, empty and in order",
  permissions: { run: [Deno.execPath()], read: true, write: true, env: true },
  async fn() {
    // The test task grants no unix-socket access, so a child process with access to exactly
    // these two paths does the socket work and asserts; see udp_unixpacket_child.ts.
    const dir = await Deno.makeTempDir({ prefix: "sockkit_unixpacket_" });
    try {
      const child = new URL("./udp_unixpacket_child.ts", import.meta.url).pathname;
      const { code, out, err } = await runDeno([
        "run",
        "--no-config",
        "--unstable-net",
        `--allow-net=unix:${dir}/a.sock,unix:${dir}/b.sock`,
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        child,
        dir,
      ], { NO_COLOR: "1" });
      assert.equal(code, 0, err);
      const result = JSON.parse(out);
      assert.equal(result.big, 150_000);
      assert.deepEqual(result.receivedSizes, [3, 0, 70_000, 1]);
      assert.equal(result.truncated, true);
      assert.equal(result.unboundPath, null);
      assert.equal(result.refusedSize, 1_000_000);
      // Machine-dependent (the socket's send buffer), but always above UDP's limit here.
      assert.ok(result.largest > 150_000 && result.largest < 1_000_000, String(result.largest));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
