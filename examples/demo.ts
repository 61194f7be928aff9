// Copyright 2025 the sockkit authors. MIT license.
/**
 * The side-by-side demo: the same messages over raw TCP, framed TCP and UDP on loopback, and
 * what each receiver saw.
 *
 * Sent, in this order and back to back: 50 small messages (14–40 bytes), one of 65,507 bytes
 * (UDP's IPv4 limit), one of 1 MiB, and an empty one.
 *
 * - **TCP raw**: `Deno.connect` with Nagle on (Deno's default), every message written whole
 *   (`sendall`) with no pause between them; the receiver reads into a fresh 1,024-byte buffer
 *   each time, like the tutorial's `recv(1024)`. Small messages merge, large ones split, and the
 *   empty one is never sent at all (a 0-byte write sends nothing).
 * - **TCP framed**: `connectFramed` / `listenFramed`: a 4-byte length before each message. The
 *   socket reads underneath merge and split just the same; `receive()` still returns each
 *   message whole, the empty one included.
 * - **UDP**: `transmit()` sends each message as one datagram, back to back; the 1 MiB one is
 *   first offered to `DatagramSocket.send`, which refuses it with `DatagramTooLargeError`.
 *
 * ```sh
 * deno task demo            # = deno run --allow-net=127.0.0.1 examples/demo.ts
 * deno task demo --json
 * ```
 *
 * Permissions: `--allow-net=127.0.0.1` (loopback only) and `--unstable-net` for
 * `Deno.listenDatagram` (set by `"unstable": ["net"]` in `deno.json`). Nothing else.
 *
 * Exit codes: 0 everything behaved as described, 1 it did not (or a socket error, or the 14 s
 * deadline passed), 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  buildMessages,
  HOST,
  problemsOf,
  runFramedTcp,
  runRawTcp,
  runUdp,
  SMALL_COUNT,
} from "./demo_runs.ts";
import { type DemoReport, makeStyle, PERMISSIONS, picture, printReport } from "./demo_report.ts";

const USAGE = `Usage: deno task demo [--json]
   or: deno run --unstable-net --allow-net=127.0.0.1 examples/demo.ts [options]

Sends the same messages over raw TCP, framed TCP and UDP on loopback (127.0.0.1) and prints,
side by side, what each receiver saw: message boundaries kept or lost (merged and split
counts), the largest message, the empty message, loss and order; then a verdict per transport
and a picture of sent versus received boundaries.

Messages, back to back: 50 small (14-40 B), 65,507 B (UDP's IPv4 limit), 1 MiB, and an empty one.

Options:
  --json        print the same data as JSON instead
  --width N     width of the picture and table, 72 to 200 (default: the terminal's, or 100)
  -h, --help    show this help

Permissions: --allow-net=127.0.0.1 (loopback only) and --unstable-net (for
Deno.listenDatagram; "unstable": ["net"] in deno.json). Nothing else.

Exit codes: 0 everything behaved as described, 1 it did not (or a socket error, or the 14 s
deadline passed), 2 usage error.`;

const DEADLINE_MS = 14_000;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        json: { type: "boolean", default: false },
        width: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const tty = Deno.stdout.isTerminal();
  let width = 100;
  if (values.width !== undefined) {
    width = Number(values.width);
    if (!/^\d+$/.test(values.width) || width < 72 || width > 200) {
      console.error(`demo: --width must be an integer from 72 to 200, got "${values.width}"`);
      return 2;
    }
  } else if (tty && !values.json) {
    try {
      width = Math.max(72, Math.min(120, Deno.consoleSize().columns));
    } catch {
      // not a terminal after all
    }
  }
  const net = await Deno.permissions.query({ name: "net", host: HOST });
  if (net.state !== "granted") {
    console.error(`demo: needs --allow-net=${HOST}; run it as: deno task demo`);
    return 1;
  }

  const started = performance.now();
  const messages = buildMessages();
  const tcpRaw = await runRawTcp(messages);
  const tcpFramed = await runFramedTcp(messages);
  const { column: udp, sendable } = await runUdp(messages);
  const problems = problemsOf(tcpRaw, tcpFramed, udp);
  const report: DemoReport = {
    demo: "sockkit side-by-side",
    host: HOST,
    permissions: PERMISSIONS,
    messages: {
      count: messages.length,
      small: SMALL_COUNT,
      sizes: messages.map((m) => m.length),
      totalBytes: messages.reduce((sum, m) => sum + m.length, 0),
    },
    columns: { tcpRaw, tcpFramed, udp },
    asExpected: problems.length === 0,
    problems,
    picture: picture(messages, tcpRaw, tcpFramed, udp, sendable, width),
    elapsedMs: performance.now() - started,
  };
  if (values.json) {
    // one line per array of numbers (the read sizes run to a thousand entries)
    const json = JSON.stringify(report, null, 2).replace(
      /\[\s+(-?\d[\d.,\s-]*?)\s+\]/g,
      (_, body: string) => `[${body.split(/,\s*/).join(", ")}]`,
    );
    console.log(json);
  } else printReport(report, width, makeStyle(tty && !Deno.noColor));
  return report.asExpected ? 0 : 1;
}

if (import.meta.main) {
  const watchdog = setTimeout(() => {
    console.error(`demo: not finished after ${DEADLINE_MS / 1000} s; giving up`);
    Deno.exit(1);
  }, DEADLINE_MS);
  Deno.unrefTimer(watchdog);
  try {
    const code = await main();
    clearTimeout(watchdog);
    Deno.exit(code);
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
