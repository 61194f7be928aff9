/**
 * The non-TCP-stream processes of `tests/bench.ts`: in-memory decoding, UDP, and file transfer.
 * `deno run --unstable-net [perms] tests/bench_other_roles.ts <role> <args>`; each role prints its
 * figures as JSON lines and ends by itself.
 *
 * @module
 */

import { openDatagram } from "../udp/mod.ts";
import { FramedConn } from "../tcp/mod.ts";
import { receiveFiles, sendFiles } from "../tcp/transfer/mod.ts";
import { answer, cpuMicros, median, minorFaults } from "./bench_proc.ts";
import { CHUNK, frameStream, handLoop, sockkitDecode } from "./_frame_stream.ts";

/** Passes of `fn` over `bytes` for about `ms`; bytes per second. */
function rate(fn: () => number, bytes: number, ms: number): number {
  fn();
  let passes = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    if (fn() <= 0) throw new Error("nothing decoded");
    passes++;
    now = performance.now();
  }
  return (passes * bytes) / ((now - start) / 1000);
}

/**
 * `decode fresh|after <ms>`: 64 KiB frames in 64 KiB chunks, sockkit's decoder and the hand loop
 * interleaved. `after` first decodes small and 1 KiB frames and makes garbage for a while, as a
 * process that has done other work.
 */
function decode(mode: string, ms: number): void {
  const bytes = 32 * 1024 * 1024;
  if (mode === "after") {
    for (const payload of [16, 1024]) {
      const chunks = frameStream(payload, bytes / 4).chunks;
      rate(() => sockkitDecode(chunks), bytes / 4, ms / 2);
      rate(() => handLoop(chunks), bytes / 4, ms / 4);
    }
    let keep: Uint8Array[] = [];
    for (let i = 0; i < 20_000; i++) {
      keep.push(new Uint8Array(1 + (i % 4096)));
      if (keep.length > 1000) keep = [];
    }
  }
  const chunks = frameStream(64 * 1024, bytes).chunks;
  const ours: number[] = [];
  const hand: number[] = [];
  const faults = { sockkit: 0, hand: 0 };
  const bytesDone = { sockkit: 0, hand: 0 };
  const side = (name: "sockkit" | "hand", fn: () => number, into: number[]) => {
    const before = minorFaults();
    const started = performance.now();
    const perSecond = rate(fn, chunks.length * CHUNK, ms / 6);
    bytesDone[name] += perSecond * (performance.now() - started) / 1000;
    faults[name] += minorFaults() - before;
    into.push(perSecond);
  };
  for (let round = 0; round < 3; round++) {
    side("sockkit", () => sockkitDecode(chunks), ours);
    side("hand", () => handLoop(chunks), hand);
  }
  const perGiB = (name: "sockkit" | "hand") => faults[name] / (bytesDone[name] / 1024 ** 3);
  answer({
    sockkit: median(ours),
    hand: median(hand),
    sockkitFaults: perGiB("sockkit"),
    handFaults: perGiB("hand"),
  });
}

/**
 * `udp-recv raw|sockkit`: counts datagrams until none came for 300 ms after the first (or 20 s
 * without any). Raw receives into one reused buffer; sockkit's `receive()` hands out a copy.
 */
async function udpReceive(mode: string): Promise<void> {
  let received = 0;
  let first = 0;
  let last = 0;
  const raw = mode === "raw"
    ? Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" })
    : undefined;
  const ours = mode === "raw" ? undefined : openDatagram({ hostname: "127.0.0.1", port: 0 });
  const close = () => raw ? raw.close() : ours!.close();
  answer({ port: ((raw ?? ours!).addr as Deno.NetAddr).port });
  let seen = -1;
  const started = performance.now();
  const watchdog = setInterval(() => {
    const quiet = received > 0 ? received === seen : performance.now() - started > 20_000;
    if (quiet) close();
    seen = received;
  }, 300);
  const cpu = cpuMicros();
  const buffer = new Uint8Array(65_536);
  try {
    for (;;) {
      if (raw) await raw.receive(buffer);
      else await ours!.receive();
      last = performance.now();
      if (received++ === 0) first = last;
    }
  } catch {
    // closed by the watchdog
  }
  clearInterval(watchdog);
  answer({ received, seconds: (last - first) / 1000, cpuSeconds: (cpuMicros() - cpu) / 1e6 });
}

/** `udp-send raw|sockkit <port> <count>`: `count` 64 B datagrams, one awaited send each. */
async function udpSend(mode: string, port: number, count: number): Promise<void> {
  const data = new Uint8Array(64).fill(9);
  const to = { hostname: "127.0.0.1", port };
  let started: number;
  const cpu = cpuMicros();
  if (mode === "raw") {
    const conn = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const addr: Deno.NetAddr = { transport: "udp", ...to };
    started = performance.now();
    for (let i = 0; i < count; i++) await conn.send(data, addr);
    conn.close();
  } else {
    await using socket = openDatagram({ hostname: "127.0.0.1", port: 0 });
    started = performance.now();
    for (let i = 0; i < count; i++) await socket.send(data, to);
  }
  const seconds = (performance.now() - started) / 1000;
  answer({ sent: count, seconds, cpuSeconds: (cpuMicros() - cpu) / 1e6 });
}

/** `file-recv <dir>`: receives one file (sockkit wire), timed from the accepted connection. */
async function fileReceive(dir: string): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  answer({ port: listener.addr.port });
  await using conn = new FramedConn(await listener.accept());
  const started = performance.now();
  const [result] = await receiveFiles(conn, { dir, wire: "sockkit", overwrite: true });
  if (!result?.ok) throw new Error(`receive failed: ${result?.error?.message}`);
  answer({
    bytes: result.size,
    seconds: (performance.now() - started) / 1000,
    rss: Deno.memoryUsage().rss,
  });
}

/** `file-send <port> <path>`: sends one file (sockkit wire). */
async function fileSend(port: number, path: string): Promise<void> {
  await using conn = new FramedConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  const [result] = await sendFiles(conn, [path], { wire: "sockkit" });
  if (!result.ok) throw new Error(`send failed: ${result.error?.message}`);
  answer({});
}

if (import.meta.main) {
  const [role, a, b, c] = Deno.args;
  switch (role) {
    case "decode":
      decode(a, Number(b));
      break;
    case "udp-recv":
      await udpReceive(a);
      break;
    case "udp-send":
      await udpSend(a, Number(b), Number(c));
      break;
    case "file-recv":
      await fileReceive(a);
      break;
    case "file-send":
      await fileSend(Number(a), b);
      break;
    default:
      throw new TypeError(`unknown role ${role}`);
  }
}
