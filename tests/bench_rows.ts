/**
 * The rows of `tests/bench.ts`: each measures sockkit and its anchor once, side by side, in
 * child processes (sender and receiver apart wherever the measure is about a stream).
 *
 * @module
 */

import {
  type BenchChild,
  type ChildPermissions,
  freePort,
  runProgram,
  withChildren,
} from "./bench_proc.ts";

/** Sizes of one bench run (`--quick` makes them smaller). */
export interface BenchSizes {
  bulkBytes: number;
  smallFrames: number;
  pings: number;
  echoClients: number;
  echoRounds: number;
  decodeMs: number;
  fileBytes: number;
  datagrams: number;
  iperfSeconds: number;
}

/** One measurement of one side: named figures. */
export type Sample = Record<string, number>;

/** A figure of a row: how it is shown, compared and judged. */
export interface Metric {
  key: string;
  unit: string;
  digits: number;
  /** `"higher"`: ratio = sockkit / anchor; `"lower"`: anchor / sockkit (both: 1 = as good). */
  better: "higher" | "lower";
  goal: string;
  /** Whether the goal is met, from the medians and the ratios of the rounds. */
  met(ours: number[], anchor: number[], ratios: number[]): boolean;
}

/** One row of the table. */
export interface Row {
  id: string;
  title: string;
  ours: string;
  anchor: string;
  metrics: Metric[];
  /** Why the row cannot run here, or `undefined`. */
  unavailable?(): Promise<string | undefined>;
  setup?(sizes: BenchSizes): Promise<void>;
  teardown?(): Promise<void>;
  /** One round: both sides, in the order given (the caller alternates it). */
  pair(sizes: BenchSizes, anchorFirst: boolean): Promise<{ ours: Sample; anchor: Sample }>;
}

const TCP = "./bench_tcp_roles.ts";
const OTHER = "./bench_other_roles.ts";
const GiB = 1024 ** 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A figure whose goal is a ratio to the anchor (higher is better). */
function atLeast(key: string, unit: string, digits: number, goal: number): Metric {
  const met: Metric["met"] = (_o, _a, ratios) => median(ratios) >= goal;
  return { key, unit, digits, better: "higher", goal: `≥ ${goal}×`, met };
}

/** A figure shown to explain the others (lower is better), without a goal of its own. */
function profile(key: string, unit: string, digits: number): Metric {
  return { key, unit, digits, better: "lower", goal: "(profile)", met: () => true };
}

async function inOrder(
  anchorFirst: boolean,
  ours: () => Promise<Sample>,
  anchor: () => Promise<Sample>,
): Promise<{ ours: Sample; anchor: Sample }> {
  if (anchorFirst) {
    const a = await anchor();
    return { anchor: a, ours: await ours() };
  }
  const o = await ours();
  return { ours: o, anchor: await anchor() };
}

/** A receiver role that prints its port, then a sender role aimed at it; both answers. */
function stream(
  receiver: [string, string, (string | number)[]],
  sender: (port: number) => [string, string, (string | number)[]],
  permissions: ChildPermissions = "net",
): Promise<[Sample, Sample]> {
  return withChildren(async (spawn) => {
    const rx: BenchChild = spawn(receiver[0], receiver[1], receiver[2], permissions);
    const { port } = await rx.next();
    const [file, role, args] = sender(port);
    const tx = spawn(file, role, args, permissions);
    const [received, sent] = await Promise.all([rx.next(), tx.next()]);
    await Promise.all([rx.end(), tx.end()]);
    return [received, sent];
  });
}

const faultsPerGiB = (faults: number, bytes: number) => faults / (bytes / GiB);

function bulkRow(id: string, frame: number, title: string, reuse = false): Row {
  const side = (mode: "raw" | "framed") => async (sizes: BenchSizes): Promise<Sample> => {
    const io = 1024 * 1024;
    const [rx, tx] = await stream(
      [TCP, "bulk-recv", [mode === "framed" && reuse ? "reuse" : mode, io]],
      (port) => [TCP, "bulk-send", [mode, port, sizes.bulkBytes, mode === "raw" ? io : frame]],
    );
    if (rx.bytes !== sizes.bulkBytes) throw new Error(`${id}: ${rx.bytes} bytes arrived`);
    return {
      rate: rx.bytes / rx.seconds / 1e9,
      rxFaults: faultsPerGiB(rx.minorFaults, rx.bytes),
      txFaults: faultsPerGiB(tx.minorFaults, rx.bytes),
      rxCpu: rx.cpuSeconds / (rx.bytes / GiB),
      txCpu: tx.cpuSeconds / (rx.bytes / GiB),
    };
  };
  return {
    id,
    title,
    ours: `FramedConn.send → FramedConn.receive${
      reuse ? " with reuseBuffers: true" : ""
    }, sender and receiver in two processes`,
    anchor: "raw Deno, 1 MiB writes and reads (reused buffers)",
    metrics: [
      atLeast("rate", "GB/s", 2, 0.9),
      profile("rxFaults", "rx minor faults/GiB", 0),
      profile("txFaults", "tx minor faults/GiB", 0),
      profile("rxCpu", "rx CPU s/GiB", 3),
      profile("txCpu", "tx CPU s/GiB", 3),
    ],
    pair: (sizes, anchorFirst) =>
      inOrder(anchorFirst, () => side("framed")(sizes), () => side("raw")(sizes)),
  };
}

const smallReceive: Row = {
  id: "small",
  title: "32 B frames, receive side",
  ours: "FramedConn.receive() per frame; the sender writes pre-encoded frames 1 MiB at a time",
  anchor: "bare zero-copy loop (views into a fresh 256 KiB slab, frames handed out in an array)",
  metrics: [
    atLeast("rate", "M frames/s", 2, 0.6),
    profile("nsPerFrame", "CPU ns/frame", 0),
  ],
  pair(sizes, anchorFirst) {
    const side = (mode: string) => async () => {
      const [rx] = await stream(
        [TCP, "small-recv", [mode]],
        (port) => [TCP, "small-send", [port, sizes.smallFrames]],
      );
      if (rx.frames !== sizes.smallFrames) throw new Error(`small: ${rx.frames} frames`);
      return { rate: rx.frames / rx.seconds / 1e6, nsPerFrame: (rx.cpuSeconds * 1e9) / rx.frames };
    };
    return inOrder(anchorFirst, side("framed"), side("bare"));
  },
};

const pingPong: Row = {
  id: "pingpong",
  title: "32 B ping-pong",
  ours: "FramedConn send + receive on both ends, one connection, two processes",
  anchor: "raw Deno write + read of 36 B on both ends",
  metrics: [
    atLeast("rate", "k round trips/s", 1, 0.9),
    profile("cpu", "CPU µs/round trip, both ends", 1),
  ],
  pair(sizes, anchorFirst) {
    const side = (mode: string) => async () => {
      const [server, client] = await stream(
        [TCP, "pong", [mode]],
        (port) => [TCP, "ping", [mode, port, sizes.pings]],
      );
      return {
        rate: client.roundTrips / client.seconds / 1e3,
        cpu: ((server.cpuSeconds + client.cpuSeconds) * 1e6) / client.roundTrips,
      };
    };
    return inOrder(anchorFirst, side("framed"), side("raw"));
  },
};

const echoClients: Row = {
  id: "echo",
  title: "1,000 echo clients",
  ours: "serveFramed echo server; the same raw clients, all in one other process",
  anchor: "raw Deno echo server (a 4 KiB read buffer per connection)",
  metrics: [
    atLeast("rate", "k round trips/s", 1, 0.85),
    {
      key: "kbPerConn",
      unit: "server KB/conn, idle after 1 round trip",
      digits: 1,
      better: "lower",
      goal: "≤ 40 KB",
      met: (ours) => median(ours) <= 40,
    },
    profile("cpu", "server CPU µs/round trip", 1),
  ],
  pair(sizes, anchorFirst) {
    const side = (mode: string) => () =>
      withChildren(async (spawn) => {
        const server = spawn(TCP, "echo-server", [mode, sizes.echoClients + 10]);
        const { port, rss: before } = await server.next();
        const clients = spawn(TCP, "echo-clients", [port, sizes.echoClients, sizes.echoRounds]);
        await clients.next();
        await server.command("rss");
        const { rss: idle, cpu: cpuBefore } = await server.next();
        await clients.command("go");
        const result = await clients.next();
        await server.command("rss");
        const { cpu: cpuAfter } = await server.next();
        await clients.end();
        await server.end();
        return {
          rate: result.roundTrips / result.seconds / 1e3,
          kbPerConn: (idle - before) / sizes.echoClients / 1e3,
          cpu: (cpuAfter - cpuBefore) / result.roundTrips,
        };
      });
    return inOrder(anchorFirst, side("sockkit"), side("raw"));
  },
};

function decodeRow(mode: "fresh" | "after"): Row {
  return {
    id: `decode-${mode}`,
    title: `decode 64 KiB frames, 64 KiB chunks, ${
      mode === "fresh" ? "fresh process" : "after other work"
    }`,
    ours: "FrameDecoder.push, 32 MiB a pass, in memory",
    anchor: "hand zero-copy loop",
    metrics: [
      atLeast("rate", "GB/s", 2, 0.8),
      profile("faults", "minor faults/GiB", 0),
    ],
    pair: (sizes) =>
      withChildren(async (spawn) => {
        const child = spawn(OTHER, "decode", [mode, sizes.decodeMs], "none");
        const r = await child.next();
        await child.end();
        return {
          ours: { rate: r.sockkit / 1e9, faults: r.sockkitFaults },
          anchor: { rate: r.hand / 1e9, faults: r.handFaults },
        };
      }),
  };
}

let fileDir = "";

async function removeOutputs(): Promise<void> {
  await runProgram("rm", ["-rf", `${fileDir}/out`, `${fileDir}/nc.bin`]);
  await runProgram("mkdir", ["-p", `${fileDir}/out`]);
}

async function ncTransfer(): Promise<Sample> {
  const port = freePort();
  const receiver = new Deno.Command("sh", {
    args: ["-c", `exec nc -d -l 127.0.0.1 ${port} > ${fileDir}/nc.bin`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let started = 0;
  for (let attempt = 0;; attempt++) {
    started = performance.now();
    const sent = await runProgram("sh", [
      "-c",
      `exec nc -N 127.0.0.1 ${port} < ${fileDir}/source.bin`,
    ]);
    if (sent.ok) break;
    if (attempt === 100) {
      receiver.kill("SIGKILL");
      await receiver.output();
      throw new Error("nc: the sender could not connect");
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const status = await receiver.output();
  const seconds = (performance.now() - started) / 1000;
  if (!status.success) throw new Error("nc receiver failed");
  const size = Number((await runProgram("stat", ["-c", "%s", `${fileDir}/nc.bin`])).stdout);
  return { rate: size / seconds / 1e6, bytes: size };
}

async function sockkitTransfer(): Promise<Sample> {
  const [rx] = await stream(
    [OTHER, "file-recv", [`${fileDir}/out`]],
    (port) => [OTHER, "file-send", [port, `${fileDir}/source.bin`]],
    "all",
  );
  return { rate: rx.bytes / rx.seconds / 1e6, bytes: rx.bytes };
}

const fileTransfer: Row = {
  id: "file",
  title: "file transfer, tmpfs",
  ours: "sendFiles → receiveFiles, sockkit wire (SHA-256 both sides, fsync, rename), two processes",
  anchor: "nc -N → nc -l > file (netcat-openbsd, no hash)",
  metrics: [
    atLeast("rate", "MB/s", 0, 0.9),
  ],
  async unavailable() {
    if (!(await runProgram("sh", ["-c", "command -v nc"])).ok) {
      return "nc not installed (Debian: apt-get install netcat-openbsd)";
    }
    if (!(await runProgram("test", ["-d", "/dev/shm"])).ok) return "no tmpfs at /dev/shm";
    return undefined;
  },
  async setup(sizes) {
    fileDir = (await runProgram("mktemp", ["-d", "/dev/shm/sockkit-bench-XXXXXX"])).stdout.trim();
    if (fileDir === "") throw new Error("mktemp on /dev/shm failed");
    const mib = Math.ceil(sizes.fileBytes / 2 ** 20);
    const made = await runProgram("dd", [
      "if=/dev/urandom",
      `of=${fileDir}/source.bin`,
      "bs=1M",
      `count=${mib}`,
      "status=none",
    ]);
    if (!made.ok) throw new Error("dd failed");
    await removeOutputs();
  },
  async teardown() {
    if (fileDir !== "") await runProgram("rm", ["-rf", fileDir]);
    fileDir = "";
  },
  async pair(sizes, anchorFirst) {
    const expect = Math.ceil(sizes.fileBytes / 2 ** 20) * 2 ** 20;
    const result = await inOrder(anchorFirst, async () => {
      const r = await sockkitTransfer();
      await removeOutputs();
      return r;
    }, async () => {
      const r = await ncTransfer();
      await removeOutputs();
      return r;
    });
    for (const s of [result.ours, result.anchor]) {
      if (s.bytes !== expect) throw new Error(`file: ${s.bytes} of ${expect} bytes arrived`);
    }
    return result;
  },
};

const udp: Row = {
  id: "udp",
  title: "UDP 64 B datagrams",
  ours: "DatagramSocket: one awaited send each → receive(), two processes",
  anchor: "raw Deno.listenDatagram: send → receive(buffer) into one reused buffer",
  metrics: [
    atLeast("rate", "k sent/s", 1, 0.9),
    {
      key: "loss",
      unit: "loss %",
      digits: 1,
      better: "lower",
      goal: "≤ raw (within raw's range)",
      met: (ours, anchor) => median(ours) <= Math.max(...anchor),
    },
    profile("txUs", "sender CPU µs/datagram", 2),
    profile("rxUs", "receiver CPU µs/datagram", 2),
  ],
  pair(sizes, anchorFirst) {
    const side = (mode: string) => async () => {
      const [rx, tx] = await stream(
        [OTHER, "udp-recv", [mode]],
        (port) => [OTHER, "udp-send", [mode, port, sizes.datagrams]],
      );
      return {
        rate: tx.sent / tx.seconds / 1e3,
        loss: (100 * (tx.sent - rx.received)) / tx.sent,
        txUs: (tx.cpuSeconds * 1e6) / tx.sent,
        rxUs: (rx.cpuSeconds * 1e6) / Math.max(1, rx.received),
      };
    };
    return inOrder(anchorFirst, side("sockkit"), side("raw"));
  },
};

/** The TCP ceiling: iperf3 over loopback, bytes/s, or `undefined` when it is not installed. */
export async function iperf3(seconds: number): Promise<number | undefined> {
  if (!(await runProgram("sh", ["-c", "command -v iperf3"])).ok) return undefined;
  const port = freePort();
  const server = new Deno.Command("iperf3", {
    args: ["-s", "-1", "-B", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      const run = await runProgram("iperf3", [
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(seconds),
        "-J",
      ]);
      const bits = run.ok ? JSON.parse(run.stdout).end?.sum_received?.bits_per_second : undefined;
      if (typeof bits === "number") return bits / 8;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return undefined;
  } finally {
    try {
      server.kill("SIGKILL");
    } catch {
      // exited after its one test
    }
    await server.status;
  }
}

/** Every row, in the order. */
export const ROWS: Row[] = [
  bulkRow("64k", 64 * 1024, "64 KiB frames"),
  bulkRow("64k-reuse", 64 * 1024, "64 KiB frames, reuseBuffers", true),
  bulkRow("1m", 1024 * 1024, "1 MiB frames"),
  bulkRow("1m-reuse", 1024 * 1024, "1 MiB frames, reuseBuffers", true),
  smallReceive,
  pingPong,
  echoClients,
  decodeRow("fresh"),
  decodeRow("after"),
  fileTransfer,
  udp,
];
