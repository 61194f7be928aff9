/**
 * Runs the framing tests in Node.js, to show that `@sockkit/sockkit/framing` needs no Deno API.
 * `deno task node-check` (`.ci/run` runs it after the Deno tests).
 *
 * Node 20 cannot run TypeScript, so `deno bundle` turns each framing test file into one
 * JavaScript module, and `node --test` runs them. The only adapter is for the tests themselves:
 * `Deno.test` (mapped onto `node:test`), `Deno.memoryUsage` and `Deno.env.get`, and
 * `Array.fromAsync` (Node 22+), which some tests use to collect streams. The library code needs
 * none of it: `tests/framing_no_deno_test.ts` checks that `framing/` never names `Deno` and its
 * code never calls `Array.fromAsync`.
 *
 * The framing tests are found, not listed: every `tests/*_test.ts` whose imports are the framing
 * entry point, `node:` modules and `./_random.ts` only.
 *
 * `deno bundle` fetches esbuild from npm the first time it runs (then it is in Deno's cache), so
 * this check is kept out of `deno task test`, which needs no registry.
 *
 * @module
 */

const root = new URL("..", import.meta.url);
const testsDir = new URL("tests/", root);

/** The imports a file may have and still count as a framing test. */
const ALLOWED = [
  /^\.\.\/framing\/mod\.ts$/,
  /^@sockkit\/sockkit\/framing$/,
  /^node:/,
  /^\.\/_random\.ts$/,
];

/** The `from "…"` and bare `import "…"` specifiers of a module's source. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\b[^;]*?["']([^"']+)["']/gms)) {
    found.push(m[1]);
  }
  return found;
}

/** The framing test files under `tests/`, sorted. */
async function framingTestFiles(): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(testsDir)) {
    if (!entry.isFile || !entry.name.endsWith("_test.ts")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, testsDir));
    const imports = importsOf(source);
    const framing = imports.some((s) => ALLOWED[0].test(s) || ALLOWED[1].test(s));
    if (framing && imports.every((s) => ALLOWED.some((re) => re.test(s)))) files.push(entry.name);
  }
  return files.sort();
}

/** Defines the part of `Deno` the test files call, on top of Node's own modules. */
const PRELUDE = `import { test } from "node:test";
// Node 22 has it; some tests (not the library: framing_no_deno_test.ts checks) collect with it.
Array.fromAsync ??= async (items) => {
  const out = [];
  for await (const item of items) out.push(item);
  return out;
};
globalThis.Deno = {
  test(a, b) {
    const t = typeof a === "function" ? { name: a.name, fn: a }
      : typeof a === "string" ? { name: a, fn: b }
      : typeof b === "function" ? { ...a, fn: b } : a;
    test(t.name, { skip: t.ignore === true }, () => t.fn({ name: t.name }));
  },
  memoryUsage: () => process.memoryUsage(),
  env: { get: (name) => process.env[name] },
};
`;

async function run(cmd: string, args: string[]): Promise<number> {
  const { code } = await new Deno.Command(cmd, { args, stdout: "inherit", stderr: "inherit" })
    .output();
  return code;
}

async function main(): Promise<number> {
  const files = await framingTestFiles();
  if (files.length === 0) {
    console.error("node-check: no framing test files found");
    return 1;
  }
  const work = await Deno.makeTempDir({ prefix: "sockkit-node-check-" });
  try {
    await Deno.writeTextFile(`${work}/prelude.mjs`, PRELUDE);
    const entries: string[] = [];
    for (const file of files) {
      const entry = `${work}/${file.replace(/\.ts$/, ".entry.ts")}`;
      const target = new URL(file, testsDir).href;
      await Deno.writeTextFile(
        entry,
        `import "./prelude.mjs";\nimport ${JSON.stringify(target)};\n`,
      );
      entries.push(entry);
    }
    const bundled = await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      `--config=${new URL("deno.json", root).pathname}`,
      "--platform=deno",
      "--format=esm",
      `--outdir=${work}/out`,
      ...entries,
    ]);
    if (bundled !== 0) return bundled;
    // `.mjs`: Node then reads the bundles as ES modules without a package.json.
    const outputs: string[] = [];
    for await (const entry of Deno.readDir(`${work}/out`)) {
      if (!/\.m?js$/.test(entry.name)) continue;
      const mjs = `${work}/out/${entry.name.replace(/\.m?js$/, ".mjs")}`;
      await Deno.rename(`${work}/out/${entry.name}`, mjs);
      outputs.push(mjs);
    }
    console.log(`node-check: ${files.join(", ")} in ${await nodeVersion()}`);
    return await run("node", ["--test", "--test-reporter=tap", ...outputs.sort()]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

async function nodeVersion(): Promise<string> {
  const { stdout } = await new Deno.Command("node", { args: ["--version"], stdout: "piped" })
    .output();
  return `Node ${new TextDecoder().decode(stdout).trim()}`;
}

if (import.meta.main) Deno.exit(await main());
