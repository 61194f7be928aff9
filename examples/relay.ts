// Copyright 2025 the sockkit authors. MIT license.
/**
 * The impairment relay as a program: put it between a client and a server on loopback and it
 * slices, delays, throttles, resets (TCP) or loses, duplicates, reorders, corrupts (UDP) the
 * traffic, reproducibly with `--seed`. Prints its address at start and its statistics at the
 * end (on Ctrl-C, or after `--duration MS`).
 *
 * ```sh
 * deno task relay tcp --listen 127.0.0.1:9000 --target 127.0.0.1:9527 --slice 1..7 --seed 1
 * deno task relay udp --listen 127.0.0.1:9000 --target 127.0.0.1:9527 --loss 0.1 --reorder 0.05
 * ```
 *
 * Exit codes: 0 done, 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startTcpRelay, type TcpImpairments } from "../tcp/mod.ts";
import { startUdpRelay, type UdpImpairments } from "../udp/mod.ts";
import { parseHostPort, parseNumber, parseRange, UsageError } from "./_flags.ts";

const USAGE =
  `Usage: relay.ts tcp|udp --listen HOST:PORT --target HOST:PORT [impairments] [--seed N]

Relays loopback traffic from --listen to --target and impairs it on purpose. Every impairment
applies to both directions; prefix it with --up- (client → server) or --down- (server → client)
for one direction only, e.g. --up-loss 0.2 --down-latency 50.

TCP impairments:
  --slice A..B          cut the stream into writes of A to B bytes
  --coalesce BYTES      hold bytes until this many wait (or --coalesce-ms), then write at once
  --coalesce-ms MS      how long bytes may wait to be coalesced             (default 20)
  --latency MS          delay every byte (order kept)
  --jitter MS           ± up to this much on --latency; spreads --slice pieces apart
  --bandwidth KB_PER_S  at most this many kilobytes (1000 B) per second
  --close-after BYTES   close the connection (FIN) after passing this many bytes
  --reset-after BYTES   reset the connection (RST) after passing this many bytes
  --timeout MS          pass nothing; close the connection after MS (0: never)
  --slow-close MS       wait MS before passing on the end of the stream
UDP impairments:
  --loss P  --duplicate P  --reorder P  --corrupt P    probabilities from 0 to 1
  --truncate BYTES      cut longer datagrams to this many bytes
  --delay MS  --jitter MS                              delay each datagram, ± jitter
  --rate DATAGRAMS_PER_S                               at most this many per second
Other:
  --seed N              the seed of every random choice (default: random, printed)
  --duration MS         stop after MS and print the statistics (default: until Ctrl-C)
  --json                print the statistics (and the log) as JSON
  -h, --help            show this help

Only loopback addresses (127.0.0.0/8, ::1, localhost) are accepted.
Exit codes: 0 done, 2 usage error.`;

const TCP_FLAGS = {
  slice: "range",
  coalesce: "int",
  "coalesce-ms": "ms",
  latency: "ms",
  jitter: "ms",
  bandwidth: "rate",
  "close-after": "int",
  "reset-after": "int",
  timeout: "ms",
  "slow-close": "ms",
} as const;
const UDP_FLAGS = {
  loss: "p",
  duplicate: "p",
  reorder: "p",
  corrupt: "p",
  truncate: "int",
  delay: "ms",
  jitter: "ms",
  rate: "rate",
} as const;
type Kind = "range" | "int" | "ms" | "rate" | "p";

const camel = (flag: string) => flag.replace(/-(.)/g, (_, c: string) => c.toUpperCase());

function value(flag: string, kind: Kind, text: string): number | [number, number] {
  switch (kind) {
    case "range":
      return parseRange(flag, text);
    case "int":
      return Math.floor(parseNumber(flag, text, 0, Number.MAX_SAFE_INTEGER));
    case "ms":
      return parseNumber(flag, text, 0, 3_600_000);
    case "rate":
      return parseNumber(flag, text, Number.MIN_VALUE, 1e9);
    case "p":
      return parseNumber(flag, text, 0, 1);
  }
}

/** What the command line asks for. */
export interface RelaySettings {
  mode: "tcp" | "udp";
  listen: { hostname: string; port: number };
  target: { hostname: string; port: number };
  seed?: number;
  duration?: number;
  json: boolean;
  /** Impairment options for both directions, and for `up`/`down` only. */
  impair: Record<"both" | "up" | "down", Record<string, unknown>>;
}

/** Parses the command line into the relay's options. */
export function parse(args: string[]): RelaySettings | "help" {
  const [mode] = args;
  if (args.includes("-h") || args.includes("--help")) return "help";
  if (mode !== "tcp" && mode !== "udp") throw new UsageError(`first argument must be tcp or udp`);
  const flags: Record<string, Kind> = mode === "tcp" ? TCP_FLAGS : UDP_FLAGS;
  const options: Record<string, { type: "string" | "boolean" }> = {
    listen: { type: "string" },
    target: { type: "string" },
    seed: { type: "string" },
    duration: { type: "string" },
    json: { type: "boolean" },
  };
  for (const name of Object.keys(flags)) {
    for (const prefix of ["", "up-", "down-"]) options[prefix + name] = { type: "string" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: args.slice(1), options, strict: true }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (typeof values.target !== "string") throw new UsageError("--target HOST:PORT is required");
  const listen = parseHostPort("--listen", String(values.listen ?? "127.0.0.1:0"));
  const impair: RelaySettings["impair"] = { both: {}, up: {}, down: {} };
  for (const [name, kind] of Object.entries(flags)) {
    for (const [prefix, dir] of [["", "both"], ["up-", "up"], ["down-", "down"]] as const) {
      const text = values[prefix + name];
      if (typeof text === "string") {
        impair[dir][camel(name)] = value(`--${prefix}${name}`, kind, text);
      }
    }
  }
  return {
    mode,
    listen,
    target: parseHostPort("--target", values.target),
    seed: values.seed === undefined
      ? undefined
      : parseNumber("--seed", String(values.seed), -(2 ** 53), 2 ** 53),
    duration: values.duration === undefined
      ? undefined
      : parseNumber("--duration", String(values.duration), 1),
    json: values.json === true,
    impair,
  };
}

async function main(): Promise<number> {
  let settings;
  try {
    settings = parse(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`relay: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === "help") {
    console.log(USAGE);
    return 0;
  }
  const { mode, listen, target, seed, impair } = settings;
  const common = { hostname: listen.hostname, port: listen.port, target, seed };
  let relay;
  try {
    relay = mode === "tcp"
      ? await startTcpRelay({
        ...common,
        ...impair.both as TcpImpairments,
        up: impair.up,
        down: impair.down,
      })
      : await startUdpRelay({
        ...common,
        ...impair.both as UdpImpairments,
        up: impair.up,
        down: impair.down,
      });
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    console.error(`relay: ${error.message}`);
    return 2;
  }
  const { hostname, port } = relay.addr;
  console.log(
    `relay ${mode} ${hostname}:${port} → ${target.hostname}:${target.port} seed ${relay.seed}`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    if (settings.duration !== undefined) setTimeout(stop, settings.duration);
  });
  await relay.close();
  if (settings.json) {
    console.log(JSON.stringify({ seed: relay.seed, stats: relay.stats, log: relay.log }));
  } else {
    for (const dir of ["up", "down"] as const) {
      const entries = Object.entries(relay.stats[dir]).map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(
        `${dir === "up" ? "up   (client → server)" : "down (server → client)"}: ${entries}`,
      );
    }
    if (mode === "tcp") {
      console.log(`connections: ${(relay.stats as { connections: number }).connections}`);
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
