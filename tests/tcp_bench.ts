/**
 * TCP benchmark: sockkit's `FramedConn` against raw Deno TCP, sender and receiver in separate
 * processes (this one sends; `tcp_bench_peer.ts` receives), one loopback connection per case.
 * Prints a table with ratios. `deno task bench tcp`, or run this file with `--allow-net`,
 * `--allow-read` and `--allow-run`.
 *
 * Each case is timed from the connect to the receiver's reply that it has counted everything;
 * the cases of a group run interleaved, five rounds, and the fastest run of each is shown.
 *
 * @module
 */
import { FramedConn, writeAll } from "../tcp/mod.ts";
import { FrameBatchEncoder } from "../framing/mod.ts";

const GiB = 1024 * 1024 * 1024;
const BIG = 64 * 1024;
const SMALL = 32;
const SMALL_FRAMES = 4_000_000;
const RAW_SMALL_FRAMES = 200_000;
const RUNS = 5;

const peer = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net=127.0.0.1", new URL("./tcp_bench_peer.ts", import.meta.url).pathname],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const lines = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
let head = "";
while (!head.includes("\n")) {
  const { value, done } = await lines.read();
  if (done) throw new Error("the peer exited before printing its port");
  head += value;
}
const port = Number(/port (\d+)/.exec(head)![1]);

interface Result {
  name: string;
  frames: number;
  bytes: number;
  seconds: number;
}

async function run(mode: number, send: (conn: Deno.TcpConn) => Promise<void>): Promise<Result> {
  const started = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, new Uint8Array([mode]));
  await send(conn);
  await conn.closeWrite();
  const reply = new Uint8Array(64);
  let got = 0;
  for (;;) {
    const n = await conn.read(reply.subarray(got));
    if (n === null) break;
    got += n;
  }
  const seconds = (performance.now() - started) / 1000;
  conn.close();
  const [frames, bytes] = new TextDecoder().decode(reply.subarray(0, got)).trim().split(" ")
    .map(Number);
  return { name: "", frames, bytes, seconds };
}

type Sender = (conn: Deno.TcpConn) => Promise<void>;

/**
 * Runs the cases of one group in turn, `RUNS` rounds, and keeps each case's fastest run: on a
 * shared machine, interleaving gives every case the same chance of a quiet moment.
 */
async function group(cases: [name: string, mode: number, send: Sender][]): Promise<Result[]> {
  const fastest: (Result | undefined)[] = cases.map(() => undefined);
  for (let round = 0; round < RUNS; round++) {
    for (const [i, [name, mode, send]] of cases.entries()) {
      const result = { ...await run(mode, send), name };
      if (fastest[i] === undefined || result.seconds < fastest[i]!.seconds) fastest[i] = result;
    }
  }
  return fastest as Result[];
}

const big = new Uint8Array(BIG).fill(0x5a);
const small = new Uint8Array(SMALL).fill(0x33);

// 1 GiB in 64 KiB pieces
const [rawBig, framedBig] = await group([
  ["raw conn.write, 64 KiB writes", 1, async (conn) => {
    for (let sent = 0; sent < GiB; sent += BIG) await writeAll(conn, big);
  }],
  ["FramedConn.send, 64 KiB frames", 2, async (conn) => {
    const framed = new FramedConn(conn, { maxFrameLength: BIG });
    for (let sent = 0; sent < GiB; sent += BIG) await framed.send(big);
    await framed.flush();
  }],
]);

// 32-byte messages
const [rawSmall, framedSmall, handSmall] = await group([
  ["raw, one write per 32 B message", 3, async (conn) => {
    const frame = new Uint8Array(4 + SMALL);
    frame.set([0, 0, 0, SMALL]);
    frame.set(small, 4);
    for (let i = 0; i < RAW_SMALL_FRAMES; i++) await writeAll(conn, frame);
  }],
  ["FramedConn, `await send` per 32 B frame", 2, async (conn) => {
    const framed = new FramedConn(conn);
    for (let i = 0; i < SMALL_FRAMES; i++) await framed.send(small);
    await framed.flush();
  }],
  ["hand-batched 32 B frames (1,024 a write)", 3, async (conn) => {
    const batch = new FrameBatchEncoder();
    for (let i = 0; i < SMALL_FRAMES; i++) {
      batch.push(small);
      if (batch.frameCount === 1024) await writeAll(conn, batch.flush());
    }
    if (batch.frameCount > 0) await writeAll(conn, batch.flush());
  }],
]);

const done = await Deno.connect({ hostname: "127.0.0.1", port });
await writeAll(done, new Uint8Array([0]));
done.close();
await lines.cancel();
await peer.status;

function row(result: Result, base: Result, unit: "bytes" | "frames"): string[] {
  const rate = unit === "bytes"
    ? `${(result.bytes / result.seconds / 1e9).toFixed(2)} GB/s`
    : `${(result.frames / result.seconds / 1e6).toFixed(2)} M frames/s`;
  const baseRate = unit === "bytes" ? base.bytes / base.seconds : base.frames / base.seconds;
  const ratio = (unit === "bytes" ? result.bytes : result.frames) / result.seconds / baseRate;
  const count = unit === "bytes"
    ? `${(result.bytes / GiB).toFixed(2)} GiB`
    : `${result.frames.toLocaleString("en-US")} frames`;
  return [result.name, count, `${result.seconds.toFixed(3)} s`, rate, `${ratio.toFixed(2)}×`];
}

const table = [
  ["case", "sent", "time", "rate", "ratio"],
  row(rawBig, rawBig, "bytes"),
  row(framedBig, rawBig, "bytes"),
  row(rawSmall, rawSmall, "frames"),
  row(framedSmall, rawSmall, "frames"),
  row(handSmall, rawSmall, "frames"),
];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log(
  `TCP over loopback, sender and receiver in separate processes, best of ${RUNS} interleaved runs (Deno ${Deno.version.deno})`,
);
for (const [i, r] of table.entries()) {
  console.log(
    r.map((cell, j) => j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])).join("  "),
  );
  if (i === 0 || i === 2) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
const framedBigRatio = (framedBig.bytes / framedBig.seconds) / (rawBig.bytes / rawBig.seconds);
const framedSmallRate = framedSmall.frames / framedSmall.seconds / 1e6;
console.log(
  `\ntargets: 64 KiB frames ≥ 0.90× raw bytes/s → ${framedBigRatio.toFixed(2)}×; ` +
    `await send per 32 B frame ≥ 3 M frames/s → ${framedSmallRate.toFixed(2)} M/s`,
);
