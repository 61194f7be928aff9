/**
 * The TCP processes of `tests/bench.ts`: `deno run --allow-net=127.0.0.1 tests/bench_tcp_roles.ts
 * <role> <args>`. Each role is one side of one case, sockkit (`FramedConn`, `serveFramed`) or raw
 * Deno (`Deno.listen`/`Deno.connect`), and prints its figures as JSON lines. Servers print
 * `{"port"}` first. Every role ends by itself: at the peer's EOF, or when stdin closes.
 *
 * @module
 */

import { FramedConn, serveFramed, writeAll } from "../tcp/mod.ts";
import { answer, cpuMicros, minorFaults, nextCommand } from "./bench_proc.ts";

const MAX_FRAME = 64 * 1024 * 1024;
/** The small frames' payload size. */
export const SMALL = 32;

function listen(): Deno.TcpListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  answer({ port: listener.addr.port });
  return listener;
}

async function connect(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  return conn;
}

/** Runs `body`, then prints its wall time, CPU time and minor page faults beside `extra`. */
async function timed(body: () => Promise<Record<string, number>>): Promise<void> {
  const cpu = cpuMicros();
  const faults = minorFaults();
  const started = performance.now();
  const extra = await body();
  answer({
    ...extra,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpuMicros() - cpu) / 1e6,
    minorFaults: minorFaults() - faults,
  });
}

/** `bulk-recv raw|framed|reuse <readSize>`: counts what one connection brings. */
async function bulkReceive(mode: string, readSize: number): Promise<void> {
  using listener = listen();
  const conn = await listener.accept();
  await timed(async () => {
    let bytes = 0;
    let frames = 0;
    if (mode === "raw") {
      const buffer = new Uint8Array(readSize);
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) bytes += n;
      conn.close();
    } else {
      const reuseBuffers = mode === "reuse";
      await using framed = new FramedConn(conn, { maxFrameLength: MAX_FRAME, reuseBuffers });
      for (let f = await framed.receive(); f !== null; f = await framed.receive()) {
        frames++;
        bytes += f.length;
      }
    }
    return { bytes, frames };
  });
}

/** `bulk-send raw|framed <port> <total> <size>`: raw writes of `size`, or frames of `size`. */
async function bulkSend(mode: string, port: number, total: number, size: number): Promise<void> {
  const conn = await connect(port);
  const payload = new Uint8Array(size).fill(0x5a);
  await timed(async () => {
    if (mode === "raw") {
      for (let sent = 0; sent < total; sent += size) await writeAll(conn, payload);
      conn.close();
    } else {
      await using framed = new FramedConn(conn, { maxFrameLength: MAX_FRAME });
      for (let sent = 0; sent < total; sent += size) await framed.send(payload);
      await framed.flush();
    }
    return {};
  });
}

/** `small-send <port> <frames>`: 32 B frames, pre-encoded, written 1 MiB at a time. */
async function smallSend(port: number, frames: number): Promise<void> {
  const conn = await connect(port);
  const perWrite = Math.floor((1024 * 1024) / (4 + SMALL));
  const block = new Uint8Array(perWrite * (4 + SMALL)).fill(0x33);
  for (let i = 0; i < perWrite; i++) block.set([0, 0, 0, SMALL], i * (4 + SMALL));
  for (let sent = 0; sent < frames; sent += perWrite) {
    const n = Math.min(perWrite, frames - sent);
    await writeAll(conn, block.subarray(0, n * (4 + SMALL)));
  }
  conn.close();
  answer({});
}

/**
 * The bare zero-copy receive loop: reads into a slab, hands each read's whole frames out as
 * views in an array (as a decoder must), and moves a straddling frame into a fresh slab when
 * the current one runs low (so no view handed out is ever overwritten).
 */
async function bareLoop(conn: Deno.Conn, onFrame: (frame: Uint8Array) => void): Promise<void> {
  const SLAB = 256 * 1024;
  let slab = new Uint8Array(SLAB);
  let start = 0;
  let end = 0;
  for (;;) {
    if (SLAB - end < SLAB / 4) {
      const fresh = new Uint8Array(SLAB);
      fresh.set(slab.subarray(start, end));
      end -= start;
      start = 0;
      slab = fresh;
    }
    const n = await conn.read(slab.subarray(end));
    if (n === null) break;
    end += n;
    const frames: Uint8Array[] = [];
    while (end - start >= 4) {
      const length = slab[start] * 0x1000000 +
        ((slab[start + 1] << 16) | (slab[start + 2] << 8) | slab[start + 3]);
      if (end - start - 4 < length) break;
      frames.push(slab.subarray(start + 4, start + 4 + length));
      start += 4 + length;
    }
    for (let i = 0; i < frames.length; i++) onFrame(frames[i]);
  }
}

/** `small-recv framed|bare`: counts frames, with CPU time per frame. */
async function smallReceive(mode: string): Promise<void> {
  using listener = listen();
  const conn = await listener.accept();
  await timed(async () => {
    let frames = 0;
    let bytes = 0;
    if (mode === "bare") {
      await bareLoop(conn, (frame) => {
        frames++;
        bytes += frame.length;
      });
      conn.close();
    } else {
      await using framed = new FramedConn(conn);
      for (let f = await framed.receive(); f !== null; f = await framed.receive()) {
        frames++;
        bytes += f.length;
      }
    }
    return { frames, bytes };
  });
}

/** Reads exactly `buffer.length` bytes; false at EOF. */
async function readFull(conn: Deno.Conn, buffer: Uint8Array): Promise<boolean> {
  let got = 0;
  while (got < buffer.length) {
    const n = await conn.read(buffer.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}

/** `pong raw|framed`: echoes every 32 B message of one connection. */
async function pong(mode: string): Promise<void> {
  using listener = listen();
  const conn = await listener.accept();
  conn.setNoDelay(true);
  const cpu = cpuMicros();
  if (mode === "raw") {
    const message = new Uint8Array(4 + SMALL);
    while (await readFull(conn, message)) await writeAll(conn, message);
    conn.close();
  } else {
    await using framed = new FramedConn(conn);
    for (let f = await framed.receive(); f !== null; f = await framed.receive()) {
      await framed.send(f);
    }
  }
  answer({ cpuSeconds: (cpuMicros() - cpu) / 1e6 });
}

/** `ping raw|framed <port> <count>`: one 32 B message, wait for its echo, `count` times. */
async function ping(mode: string, port: number, count: number): Promise<void> {
  const conn = await connect(port);
  const payload = new Uint8Array(SMALL).fill(7);
  await timed(async () => {
    if (mode === "raw") {
      const message = new Uint8Array(4 + SMALL);
      message.set([0, 0, 0, SMALL]);
      const reply = new Uint8Array(4 + SMALL);
      for (let i = 0; i < count; i++) {
        await writeAll(conn, message);
        if (!await readFull(conn, reply)) throw new Error("echo ended early");
      }
      conn.close();
    } else {
      await using framed = new FramedConn(conn);
      for (let i = 0; i < count; i++) {
        await framed.send(payload);
        if (await framed.receive() === null) throw new Error("echo ended early");
      }
    }
    return { roundTrips: count };
  });
}

/**
 * `echo-server raw|sockkit <maxConnections>`: an echo server; prints `{port, rss}`, then its RSS
 * for every `rss` line on stdin; exits when stdin closes.
 */
async function echoServer(mode: string, maxConnections: number): Promise<void> {
  const rss = () => Deno.memoryUsage().rss;
  const usage = () => ({ rss: rss(), cpu: cpuMicros() });
  let stop: () => Promise<void>;
  if (mode === "raw") {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns = new Set<Deno.Conn>();
    const accepting = (async () => {
      for await (const conn of listener) {
        conns.add(conn);
        conn.setNoDelay(true);
        (async () => {
          const buffer = new Uint8Array(4096);
          try {
            for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
              await writeAll(conn, buffer.subarray(0, n));
            }
          } catch {
            // the client went away
          } finally {
            if (conns.delete(conn)) conn.close(); // else stop() closed it
          }
        })();
      }
    })();
    answer({ port: listener.addr.port, ...usage() });
    stop = async () => {
      listener.close();
      await accepting.catch(() => {});
      const open = [...conns];
      conns.clear();
      for (const conn of open) conn.close();
    };
  } else {
    const server = serveFramed({
      hostname: "127.0.0.1",
      port: 0,
      maxConnections,
      async handler(conn) {
        for (let f = await conn.receive(); f !== null; f = await conn.receive()) {
          await conn.send(f);
        }
      },
      onError() {},
    });
    answer({ port: (server.addr as Deno.NetAddr).port, ...usage() });
    stop = () => server.shutdown();
  }
  while (await nextCommand() !== null) answer(usage());
  await stop();
}

/**
 * `echo-clients <port> <clients> <rounds>`: opens `clients` raw connections, one round trip
 * each, prints `{}`; on `go`, every client does `rounds` round trips at once; prints the time.
 */
async function echoClients(port: number, clients: number, rounds: number): Promise<void> {
  const message = new Uint8Array(4 + SMALL);
  message.set([0, 0, 0, SMALL]);
  const conns: Deno.TcpConn[] = [];
  const trip = async (conn: Deno.Conn, reply: Uint8Array) => {
    await writeAll(conn, message);
    if (!await readFull(conn, reply)) throw new Error("echo ended early");
  };
  // connect in batches: a burst of thousands of SYNs overflows the listen backlog
  for (let i = 0; i < clients; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, clients - i) }, () => connect(port)),
    );
    await Promise.all(batch.map((conn) => trip(conn, new Uint8Array(4 + SMALL))));
    conns.push(...batch);
  }
  answer({ clients: conns.length });
  if (await nextCommand() !== "go") return;
  await timed(async () => {
    await Promise.all(conns.map(async (conn) => {
      const reply = new Uint8Array(4 + SMALL);
      for (let i = 0; i < rounds; i++) await trip(conn, reply);
    }));
    return { roundTrips: clients * rounds };
  });
  for (const conn of conns) conn.close();
}

if (import.meta.main) {
  const [role, ...rest] = Deno.args;
  const [a, b, c, d] = rest;
  switch (role) {
    case "bulk-recv":
      await bulkReceive(a, Number(b));
      break;
    case "bulk-send":
      await bulkSend(a, Number(b), Number(c), Number(d));
      break;
    case "small-send":
      await smallSend(Number(a), Number(b));
      break;
    case "small-recv":
      await smallReceive(a);
      break;
    case "pong":
      await pong(a);
      break;
    case "ping":
      await ping(a, Number(b), Number(c));
      break;
    case "echo-server":
      await echoServer(a, Number(b));
      break;
    case "echo-clients":
      await echoClients(Number(a), Number(b), Number(c));
      break;
    default:
      throw new TypeError(`unknown role ${role}`);
  }
}
