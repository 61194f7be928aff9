// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";

const udpModule = new URL("../udp/mod.ts", import.meta.url).href;

async function runWithoutUnstableNet(code: string): Promise<Deno.CommandOutput> {
  // --no-config keeps deno.json's "unstable": ["net"] out, so the flag is truly absent.
  return await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--ext=ts", code],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
}

Deno.test({
  name: "udp: without --unstable-net, openDatagram says which flag is missing",
  permissions: { run: [Deno.execPath()], read: true, env: true },
  async fn() {
    const { code, stdout, stderr } = await runWithoutUnstableNet(`
      import { openDatagram } from ${JSON.stringify(udpModule)};
      const result: Record<string, unknown> = {
        hasListenDatagram: typeof (Deno as { listenDatagram?: unknown }).listenDatagram,
      };
      try {
        openDatagram({ hostname: "127.0.0.1", port: 0 });
        result.opened = true;
      } catch (err) {
        result.notSupported = err instanceof Deno.errors.NotSupported;
        result.message = (err as Error).message;
      }
      console.log(JSON.stringify(result));
    `);
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const result = JSON.parse(out);
    assert.equal(result.hasListenDatagram, "undefined"); // really run without the flag
    assert.equal(result.opened, undefined);
    assert.equal(result.notSupported, true);
    assert.match(result.message, /--unstable-net/);
    assert.match(result.message, /"unstable": \["net"\]/);
  },
});
