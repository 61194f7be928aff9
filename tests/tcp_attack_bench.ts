/**
 * What attacks cost a `serveFramed` server, measured over loopback:
 *
 * - `trickle`: 8 peers each send 64 KiB frames one byte per write for 9 s; the server (a child
 *   process) reports its RSS; prints the growth.
 * - `silent-reader`: a peer asks for data and never reads; prints how long its slot stays taken
 *   (`--write-timeout MS`, default: the server default).
 * - `flood`: 80 sockets that never authenticate reconnect as soon as they are dropped, while a
 *   token holder tries 25 times; prints how many tries were served.
 *
 * `deno run --allow-net=127.0.0.1 --allow-run --allow-read tests/tcp_attack_bench.ts trickle`
 * (`--module PATH` measures another copy of `tcp/mod.ts`, e.g. an older one).
 *
 * @module
 */
import { parseArgs } from "node:util";

const args = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    module: { type: "string", default: new URL("../tcp/mod.ts", import.meta.url).pathname },
    "write-timeout": { type: "string" },
    "frame-size": { type: "string", default: "65536" },
    serve: { type: "boolean", default: false },
  },
});
const mode = args.positionals[0] ?? "trickle";
// deno-lint-ignore no-explicit-any
const tcp: any = await import(args.values.module!);
const text = new TextEncoder();

if (args.values.serve) {
  // the child: a server whose handlers read and drop frames, printing its RSS twice a second
  const server = tcp.serveFramed({
    port: 0,
    async handler(conn: AsyncIterable<Uint8Array>) {
      for await (const _ of conn) { /* dropped */ }
    },
    onError() {},
  });
  console.log(`port ${server.addr.port}`);
  // after a full collection: what the connections hold, not garbage not yet collected
  const gc = (globalThis as { gc?: () => void }).gc;
  setInterval(() => {
    gc?.();
    const { rss, heapUsed, external } = Deno.memoryUsage();
    console.log(`mem ${rss} ${heapUsed + external}`);
  }, 500);
} else if (mode === "trickle") {
  await trickle();
} else if (mode === "silent-reader") {
  await silentReader();
} else if (mode === "flood") {
  await flood();
} else {
  throw new Error(`unknown mode ${mode}: trickle, silent-reader or flood`);
}

async function trickle(): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      "--serve",
      "--module",
      args.values.module!,
    ],
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const line = async () => {
    while (!pending.includes("\n")) pending += (await lines.read()).value ?? "";
    const at = pending.indexOf("\n");
    const got = pending.slice(0, at);
    pending = pending.slice(at + 1);
    return got.split(" ").slice(1).map(Number);
  };
  const [port] = await line();
  const [base, baseHeap] = await line();
  const size = Number(args.values["frame-size"]);
  const stop = Date.now() + 9000;
  let trickled = 0;
  const peers = Array.from({ length: 8 }, async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const header = new Uint8Array([
      size >>> 24,
      (size >>> 16) & 255,
      (size >>> 8) & 255,
      size & 255,
    ]);
    const one = new Uint8Array(1);
    try {
      while (Date.now() < stop) {
        await conn.write(header);
        for (let i = 0; i < size && Date.now() < stop; i++, trickled++) await conn.write(one);
      }
    } catch {
      // dropped
    }
    return conn;
  });
  let peak = base;
  let peakHeap = baseHeap;
  const watching = (async () => {
    while (Date.now() < stop + 500) {
      const [rss, heap] = await line();
      peak = Math.max(peak, rss);
      peakHeap = Math.max(peakHeap, heap);
    }
  })();
  const conns = await Promise.all(peers);
  await watching;
  for (const conn of conns) conn.close();
  child.kill();
  await child.status;
  await lines.cancel().catch(() => {});
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `trickle: 8 peers, frames of ${size} B, ${
      trickled.toLocaleString("en-US")
    } bytes one per write in 9 s: RSS ${mb(base)} → ${mb(peak)} MB (+${
      mb(peak - base)
    } MB); heap + external after GC +${mb(peakHeap - baseHeap)} MB`,
  );
}

async function silentReader(): Promise<void> {
  const writeTimeout = args.values["write-timeout"] === undefined
    ? undefined
    : Number(args.values["write-timeout"]);
  let freed = 0;
  const server = tcp.serveFramed({
    port: 0,
    maxConnections: 1,
    writeTimeout,
    async handler(conn: { send(p: Uint8Array): Promise<void>; receive(): Promise<unknown> }) {
      await conn.receive();
      for (;;) await conn.send(new Uint8Array(64 * 1024));
    },
    onError() {
      freed = performance.now();
    },
  });
  const attacker = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await attacker.write(new Uint8Array([0, 0, 0, 1, 1]));
  const started = performance.now();
  const limit = 120_000;
  while (freed === 0 && performance.now() - started < limit) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(
    freed === 0
      ? `silent reader: still holds the slot after ${limit / 1000} s`
      : `silent reader: slot freed after ${((freed - started) / 1000).toFixed(2)} s`,
  );
  attacker.close();
  await server.shutdown();
}

async function flood(): Promise<void> {
  const token = "s3cret";
  const untext = new TextDecoder();
  const check = (proof: Uint8Array | null) => {
    if (proof === null || untext.decode(proof) !== token) throw new Error("bad token");
  };
  // deno-lint-ignore no-explicit-any
  type Conn = any;
  const hasPool = "SERVER_DEFAULTS" in tcp;
  const server = hasPool
    ? tcp.serveFramed({
      port: 0,
      handshake: async (conn: Conn) => check(await conn.receive()),
      async handler(conn: Conn) {
        for await (const frame of conn) await conn.send(frame);
      },
      onError() {},
    })
    : tcp.serveFramed({ // no handshake phase: the handler authenticates, in one of 64 slots
      port: 0,
      maxConnections: 64,
      async handler(conn: Conn) {
        check(await conn.receive());
        for await (const frame of conn) await conn.send(frame);
      },
      onError() {},
    });
  const port = server.addr.port;
  const stop = new AbortController();
  let sockets = 0;
  const attacker = async () => {
    while (!stop.signal.aborted) {
      const socket = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
      if (socket === undefined) continue;
      sockets++;
      const dropped = socket.read(new Uint8Array(1)).catch(() => null);
      await Promise.race([dropped, new Promise((r) => stop.signal.addEventListener("abort", r))]);
      socket.close();
      await dropped;
    }
  };
  const attackers = Array.from({ length: 80 }, attacker);
  while (sockets < 80) await new Promise((resolve) => setTimeout(resolve, 10));
  let served = 0;
  const started = performance.now();
  for (let i = 0; i < 25; i++) {
    try {
      const client = await tcp.connectFramed({ port, connectTimeout: 2000, idleTimeout: 2000 });
      try {
        await client.send(text.encode(token));
        await client.send(text.encode(`request ${i}`));
        const reply = await client.receive();
        if (reply !== null && untext.decode(reply) === `request ${i}`) served++;
      } finally {
        await client.close();
      }
    } catch {
      // not served
    }
  }
  const seconds = (performance.now() - started) / 1000;
  stop.abort();
  await Promise.all(attackers);
  await server.shutdown();
  console.log(
    `flood: token holder served ${served}/25 in ${
      seconds.toFixed(1)
    } s while 80 sockets attacked (${sockets.toLocaleString("en-US")} connections)`,
  );
}
