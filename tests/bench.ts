/**
 * Runs every `tests/*_bench.ts` and `tests/peers/*_bench.ts` as its own `deno run` process, one
 * after another, so that each prints its side-by-side table without the others' garbage or JIT
 * state. `deno task bench`. The benchmarks in `tests/peers/` compare sockkit with npm packages and
 * run with that folder's own `deno.json` (and lock), so only they ever fetch from a registry.
 *
 * Pass names to run only some: `deno task bench framing tcp`.
 *
 * @module
 */

/** Each folder of benchmarks, with the configuration its benchmarks run under. */
const dirs: [dir: URL, config: URL][] = [
  [new URL(".", import.meta.url), new URL("../deno.json", import.meta.url)],
  [new URL("./peers/", import.meta.url), new URL("./peers/deno.json", import.meta.url)],
];
const only = Deno.args;
const files: { name: string; file: URL; config: URL }[] = [];
for (const [dir, config] of dirs) {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith("_bench.ts")) continue;
    if (only.length > 0 && !only.includes(entry.name.slice(0, -"_bench.ts".length))) continue;
    files.push({ name: entry.name, file: new URL(entry.name, dir), config });
  }
}
files.sort((a, b) => a.name.localeCompare(b.name));
let failed = 0;
for (const { name, file, config } of files) {
  console.log(`\n=== ${name} ===`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${config.pathname}`,
      "--allow-net=127.0.0.1,[::1]",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "--allow-sys",
      file.pathname,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    failed++;
    console.log(`${name} exited with ${code}`);
  }
}
if (files.length === 0) console.log("no benchmarks matched");
Deno.exit(failed === 0 ? 0 : 1);
