/**
 * Opt-in (it writes 4 GiB to disk and takes longer than the rest of the suite):
 * `SOCKKIT_RSS_TEST=1 deno task test tests/file_transfer_rss_test.ts`.
 *
 * Sends a 2 GiB file with the CLI, sender and receiver as separate processes, and samples each
 * one's resident memory with `ps` every 50 ms.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "./file_transfer_helpers.ts";

const enabled = Deno.env.get("SOCKKIT_RSS_TEST") === "1";
const SIZE = 2 * 1024 * 1024 * 1024;
const LIMIT = 100 * 1000 * 1000;

async function rssOf(pid: number): Promise<number | undefined> {
  const { stdout, success } = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const kb = Number(new TextDecoder().decode(stdout).trim());
  return success && kb > 0 ? kb * 1024 : undefined;
}

Deno.test({
  name: "a 2 GiB file: sender's and receiver's peak RSS each under 100 MB",
  ignore: !enabled,
  permissions: { net: ["127.0.0.1"], read: true, write: true, run: true, env: true, sys: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      {
        using file = await Deno.open(`${dir}/two.bin`, { write: true, create: true });
        const block = new Uint8Array(1024 * 1024);
        crypto.getRandomValues(block.subarray(0, 65536));
        for (let i = 0; i < SIZE / block.length; i++) {
          block[1] = i & 0xff;
          let o = 0;
          while (o < block.length) o += await file.write(block.subarray(o));
        }
      }
      await Deno.mkdir(`${dir}/out`);
      const receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", `${dir}/out`], 120_000);
      const sender = cli(
        ["send", `${dir}/two.bin`, "--connect", `127.0.0.1:${await receiver.port}`],
        120_000,
      );
      const peak = { sender: 0, receiver: 0 };
      let running = true;
      const sampling = (async () => {
        while (running) {
          const [s, r] = await Promise.all([rssOf(sender.child.pid), rssOf(receiver.child.pid)]);
          peak.sender = Math.max(peak.sender, s ?? 0);
          peak.receiver = Math.max(peak.receiver, r ?? 0);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const [s, r] = await Promise.all([sender.result(), receiver.result()]);
      running = false;
      await sampling;
      console.log(
        `2 GiB: peak RSS sender ${(peak.sender / 1e6).toFixed(1)} MB, receiver ${
          (peak.receiver / 1e6).toFixed(1)
        } MB; receiver: ${r.stderr.trim().split("\n").at(-1)}`,
      );
      assert.equal(s.code, 0, s.stderr);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await Deno.stat(`${dir}/out/two.bin`)).size, SIZE);
      assert.ok(peak.sender > 0 && peak.sender < LIMIT, `sender ${peak.sender}`);
      assert.ok(peak.receiver > 0 && peak.receiver < LIMIT, `receiver ${peak.receiver}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
