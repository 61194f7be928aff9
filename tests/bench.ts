/**
 * The speed table: every measure of sockkit beside its anchor (raw Deno, a bare loop, `nc`) in
 * one run, on loopback only. The rows run interleaved — round 1 of every row, then round 2, … —
 * and the two sides of a row alternate which goes first, so both see the same moments of a
 * shared machine. Each round gives a ratio; the table shows the median and the range of the
 * ratios, and the goal beside it. iperf3's loopback figure, when installed, is the TCP ceiling.
 *
 * `deno task bench` (about 5 minutes), `deno task bench --quick` (about 1 minute).
 * Options: `--rounds N`, `--only id,id` (row ids: 64k 64k-reuse 1m 1m-reuse small pingpong
 * echo decode-fresh decode-after file udp), `--file-mib N` (file transfer size), `--json` (one
 * more line: every round's figures), `--cpu-prof DIR` (a V8 CPU profile of every child process
 * into DIR; summarise them with `tests/bench_profile.ts DIR`).
 *
 * The per-area benchmarks (`tests/*_bench.ts`, and `tests/peers/*_bench.ts` beside npm packages)
 * run by name from here: `deno task bench framing tcp framing_peers`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { profileChildrenInto, spread } from "./bench_proc.ts";
import { type BenchSizes, iperf3, ROWS, type Sample } from "./bench_rows.ts";

const { values: options, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    only: { type: "string" },
    "file-mib": { type: "string" },
    "cpu-prof": { type: "string" },
    json: { type: "boolean", default: false },
  },
});

/**
 * Runs the older `tests/<name>_bench.ts` programs, one process each. Those in `tests/peers/`
 * compare sockkit with npm packages and run under that folder's own `deno.json` (and lock), so
 * only they ever fetch from a registry.
 */
async function runFiles(names: string[]): Promise<number> {
  let failed = 0;
  for (const name of names) {
    const here = new URL(`./${name}_bench.ts`, import.meta.url);
    const peer = new URL(`./peers/${name}_bench.ts`, import.meta.url);
    const isPeer = await Deno.stat(here).then(() => false, () => true);
    const file = (isPeer ? peer : here).pathname;
    const config = new URL(isPeer ? "./peers/deno.json" : "../deno.json", import.meta.url).pathname;
    console.log(`\n=== ${name}_bench.ts ===`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${config}`,
        "--unstable-net",
        "--allow-net=127.0.0.1,[::1]",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        "--allow-sys",
        file,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      failed++;
      console.log(`${name}_bench.ts exited with ${code}`);
    }
  }
  return failed;
}

if (positionals.length > 0) Deno.exit(await runFiles(positionals) === 0 ? 0 : 1);

const MiB = 1024 * 1024;
const quick = options.quick;
const sizes: BenchSizes = quick
  ? {
    bulkBytes: 256 * MiB,
    smallFrames: 1_000_000,
    pings: 4_000,
    echoClients: 1_000,
    echoRounds: 10,
    decodeMs: 300,
    fileBytes: 128 * MiB,
    datagrams: 40_000,
    iperfSeconds: 1,
  }
  : {
    bulkBytes: 1024 * MiB,
    smallFrames: 4_000_000,
    pings: 15_000,
    echoClients: 1_000,
    echoRounds: 40,
    decodeMs: 900,
    fileBytes: 1024 * MiB,
    datagrams: 150_000,
    iperfSeconds: 2,
  };
if (options["cpu-prof"] !== undefined) profileChildrenInto(options["cpu-prof"]);
if (options["file-mib"] !== undefined) sizes.fileBytes = Number(options["file-mib"]) * MiB;
const rounds = Number(options.rounds ?? (quick ? 3 : 5));
if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError("--rounds must be ≥ 1");
const only = options.only?.split(",");
const rows = ROWS.filter((row) => only === undefined || only.includes(row.id));

const skipped = new Map<string, string>();
for (const row of rows) {
  const why = await row.unavailable?.();
  if (why !== undefined) skipped.set(row.id, why);
}
const active = rows.filter((row) => !skipped.has(row.id));
const results = new Map<string, { ours: Sample[]; anchor: Sample[] }>();
const ceiling: number[] = [];
const started = performance.now();

for (const row of active) await row.setup?.(sizes);
try {
  for (let round = 0; round < rounds; round++) {
    for (const row of active) {
      const { ours, anchor } = await row.pair(sizes, round % 2 === 1);
      const r = results.get(row.id) ?? { ours: [], anchor: [] };
      r.ours.push(ours);
      r.anchor.push(anchor);
      results.set(row.id, r);
    }
    if (only === undefined || only.some((id) => id.startsWith("64k") || id.startsWith("1m"))) {
      const bytes = await iperf3(sizes.iperfSeconds);
      if (bytes !== undefined) ceiling.push(bytes / 1e9);
    }
    console.error(
      `round ${round + 1}/${rounds} done, ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
} finally {
  for (const row of active) await row.teardown?.();
}

const cells: string[][] = [[
  "measure",
  "sockkit",
  "anchor",
  "ratio median [range]",
  "goal",
  "met",
]];
for (const row of active) {
  const r = results.get(row.id)!;
  for (const [i, metric] of row.metrics.entries()) {
    const ours = r.ours.map((s) => s[metric.key]);
    const anchor = r.anchor.map((s) => s[metric.key]);
    const ratios = ours.map((o, k) => metric.better === "higher" ? o / anchor[k] : anchor[k] / o);
    const measure = i === 0 ? `${row.id}: ${row.title}, ${metric.unit}` : `  ″ ${metric.unit}`;
    const profile = metric.goal === "(profile)";
    cells.push([
      measure,
      spread(ours, metric.digits),
      spread(anchor, metric.digits),
      ratios.every(Number.isFinite) ? `${spread(ratios, 2)}×` : "–",
      metric.goal,
      profile ? "" : metric.met(ours, anchor, ratios) ? "yes" : "NO",
    ]);
  }
}
for (const [id, why] of skipped) {
  const row = ROWS.find((r) => r.id === id)!;
  cells.push([`${row.title}: skipped, ${why}`, "", "", "", "", ""]);
}
if (ceiling.length > 0) {
  cells.push([
    "TCP ceiling: iperf3 -c 127.0.0.1 — GB/s",
    "",
    spread(ceiling, 2),
    "",
    "",
    "",
  ]);
} else if (only === undefined) {
  cells.push([
    "TCP ceiling: iperf3 not installed (Debian: apt-get install iperf3)",
    "",
    "",
    "",
    "",
    "",
  ]);
}

const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
const line = (row: string[]) =>
  "| " + row.map((cell, c) =>
    c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
  ).join(" | ") +
  " |";
console.log(
  `\nsockkit speed, loopback, ${rounds} interleaved rounds${
    quick ? " (--quick)" : ""
  }, Deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} CPUs, ${new Date().toISOString().slice(0, 16)}Z, ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s`,
);
console.log(
  `sizes: bulk ${sizes.bulkBytes / MiB} MiB, ${
    sizes.smallFrames.toLocaleString("en-US")
  } small frames, ` +
    `${
      sizes.pings.toLocaleString("en-US")
    } pings, ${sizes.echoClients} clients × ${sizes.echoRounds}, ` +
    `file ${sizes.fileBytes / MiB} MiB, ${sizes.datagrams.toLocaleString("en-US")} datagrams; ` +
    `sockkit and anchor: median [min–max] of the rounds`,
);
console.log(line(cells[0]));
console.log(
  "| " + widths.map((w, c) => c === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ") + " |",
);
for (const row of cells.slice(1)) console.log(line(row));
for (const row of active) console.log(`- ${row.id}: sockkit = ${row.ours}; anchor = ${row.anchor}`);
if (options.json) {
  console.log(JSON.stringify({ sizes, rounds, ceiling, results: Object.fromEntries(results) }));
}
const missed = active.flatMap((row) =>
  row.metrics.filter((m) => {
    if (m.goal === "(profile)") return false;
    const r = results.get(row.id)!;
    const ours = r.ours.map((s) => s[m.key]);
    const anchor = r.anchor.map((s) => s[m.key]);
    const ratios = ours.map((o, k) => m.better === "higher" ? o / anchor[k] : anchor[k] / o);
    return !m.met(ours, anchor, ratios);
  }).map((m) => `${row.id} ${m.unit}`)
);
console.log(missed.length === 0 ? "every goal met" : `goals not met: ${missed.join("; ")}`);
