/**
 * TCP and UDP agree on closing: `close()` twice is fine; a receive waiting at the close rejects
 * with `Deno.errors.Interrupted`, a receive after it with `Deno.errors.BadResource`, and
 * `for await` loops end quietly.
 */
import assert from "node:assert/strict";
import { connectFramed, listenFramed } from "../tcp/mod.ts";
import { openDatagram } from "../udp/mod.ts";

Deno.test({
  name: "close: FramedConn and DatagramSocket behave the same after close()",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    await using listener = listenFramed({ port: 0 });
    const tcp = await connectFramed({ port: listener.addr.port });
    await using _peer = (await listener.accept())!;
    const udp = openDatagram({ hostname: "127.0.0.1", port: 0 });
    const sockets = [
      { name: "tcp", receive: () => tcp.receive(), close: () => tcp.close(), iterate: () => tcp },
      { name: "udp", receive: () => udp.receive(), close: () => udp.close(), iterate: () => udp },
    ];
    for (const socket of sockets) {
      const waiting = socket.receive();
      const looping = (async () => {
        // a second reader would be misuse on TCP; the loop starts after the close instead
        await waiting.catch(() => {});
        let n = 0;
        for await (const _ of socket.iterate()) n++;
        return n;
      })();
      await socket.close();
      await assert.rejects(waiting, Deno.errors.Interrupted, socket.name);
      await assert.rejects(socket.receive(), Deno.errors.BadResource, socket.name);
      assert.equal(await looping, 0, socket.name);
      await socket.close(); // twice is fine
    }
    await udp[Symbol.asyncDispose]();
  },
});
