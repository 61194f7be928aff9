/**
 * The README as a new user meets it: a project of their own, outside this repository, whose
 * `deno.json` is the README's (with `"links"` pointing at this checkout), and in it every
 * TypeScript block of the README, type-checked, and run when it needs no outside peer (blocks
 * fenced as `ts ignore` are only type-checked; a block needing more than `--allow-net=127.0.0.1`
 * names the permissions in its fence: `ts allow-read allow-write`). Nothing may come from the network: the children
 * run with an empty `DENO_DIR`, `--cached-only`, and registries pointed at a closed port.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type DenoRun, runDeno } from "./_run_deno.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const readme = await Deno.readTextFile(`${root}/README.md`);
const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));

/** One fenced code block of the README. */
interface Block {
  /** The README line of the opening fence. */
  line: number;
  lang: string;
  attrs: string[];
  code: string;
}

function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]);
    if (open === null) continue;
    const end = lines.findIndex((l, j) => j > i && l === "```");
    assert.ok(end > i, `README.md:${i + 1}: the code block is never closed`);
    blocks.push({
      line: i + 1,
      lang: open[1],
      attrs: open[2].trim().split(/\s+/).filter((a) => a !== ""),
      code: lines.slice(i + 1, end).join("\n") + "\n",
    });
    i = end;
  }
  return blocks;
}

const blocks = readmeBlocks();
const tsBlocks = blocks.filter((b) => ["ts", "typescript"].includes(b.lang));

/** The README's consumer `deno.json`: the JSON block with `"links"`. */
function consumerConfig(): { links: string[]; imports: Record<string, string> } {
  const found = blocks.filter((b) => b.lang.startsWith("json") && b.code.includes('"links"'));
  assert.equal(found.length, 1, "the README shows one deno.json with links");
  return JSON.parse(found[0].code);
}

/** Runs `deno <args>` in `cwd` with nothing but an empty cache and unreachable registries. */
function denoOffline(
  cwd: string,
  denoDir: string,
  args: string[],
): Promise<DenoRun> {
  return runDeno(args, {
    DENO_DIR: denoDir,
    NO_COLOR: "1",
    PATH: Deno.env.get("PATH") ?? "",
    NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    JSR_URL: "http://127.0.0.1:9/",
  }, { cwd, clearEnv: true });
}

Deno.test("README: the consumer deno.json links this checkout under the package's own name", () => {
  const consumer = consumerConfig();
  assert.equal(config.name, "@sockkit/sockkit");
  const spec = consumer.imports["@sockkit/sockkit"];
  assert.match(spec, /^jsr:@sockkit\/sockkit@\^/, "the import is the one `deno add` writes");
  const [major, minor] = String(config.version).split(".");
  // A caret range that excludes the checkout's version would send Deno to jsr.io instead.
  const range = spec.slice(spec.indexOf("^") + 1).split(".");
  assert.deepEqual(
    major === "0" ? range.slice(0, 2) : range.slice(0, 1),
    major === "0" ? [major, minor] : [major],
  );
});

Deno.test("README: one import line per entry point in deno.json's exports", () => {
  const use = readme.slice(readme.indexOf("## Use it in your project"));
  for (const subpath of Object.keys(config.exports)) {
    const name = subpath === "." ? "@sockkit/sockkit" : `@sockkit/sockkit${subpath.slice(1)}`;
    assert.ok(use.includes(`from "${name}";`), `no import line for ${name}`);
  }
  for (const m of use.matchAll(/from "@sockkit\/sockkit(\/[a-z]+)?"/g)) {
    assert.ok(`.${m[1] ?? ""}` in config.exports, `README imports ${m[0]}, not an export`);
  }
});

Deno.test({
  name: "README: every TypeScript block type-checks and runs in a project outside the repository",
  async fn() {
    assert.ok(tsBlocks.length >= 4, `README has its TypeScript blocks (${tsBlocks.length})`);
    const project = await Deno.makeTempDir({ prefix: "sockkit-consumer-" });
    const denoDir = await Deno.makeTempDir({ prefix: "sockkit-consumer-cache-" });
    try {
      assert.ok(!project.startsWith(root + "/"), "the project lives outside the repository");
      const consumer = { ...consumerConfig(), links: [root] };
      await Deno.writeTextFile(`${project}/deno.json`, JSON.stringify(consumer, null, 2));
      const files = tsBlocks.map((b) => ({ ...b, file: `readme_line_${b.line}.ts` }));
      for (const { file, code } of files) await Deno.writeTextFile(`${project}/${file}`, code);

      const checked = await denoOffline(project, denoDir, [
        "check",
        "--cached-only",
        "--no-npm",
        ...files.map((f) => f.file),
      ]);
      assert.equal(
        checked.code,
        0,
        `deno check (file readme_line_N.ts = README line N):\n${checked.err}`,
      );

      for (const block of files.filter((b) => !b.attrs.includes("ignore"))) {
        const ran = await denoOffline(project, denoDir, [
          "run",
          "--cached-only",
          "--no-npm",
          "--no-prompt",
          "--allow-net=127.0.0.1",
          ...block.attrs.filter((a) => /^allow-(read|write|run|env|sys)$/.test(a)).map((a) =>
            `--${a}`
          ),
          block.file,
        ]);
        assert.equal(ran.code, 0, `README.md:${block.line} failed:\n${ran.out}\n${ran.err}`);
        assert.doesNotMatch(ran.err, /Download|Warning/, `README.md:${block.line}: ${ran.err}`);
      }
    } finally {
      await Deno.remove(project, { recursive: true });
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the demo runs from an empty Deno cache with every registry unreachable",
  async fn() {
    const denoDir = await Deno.makeTempDir({ prefix: "sockkit-demo-cache-" });
    try {
      const ran = await denoOffline(root, denoDir, [
        "run",
        "--cached-only",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        "examples/demo.ts",
        "--json",
      ]);
      assert.equal(ran.code, 0, ran.err);
      assert.doesNotMatch(ran.err, /Download/);
    } finally {
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});

Deno.test("nothing the demo or the tests load names a registry", async () => {
  assert.equal(config.imports, undefined, "deno.json has no import map to install");
  let lock: string | undefined;
  try {
    lock = await Deno.readTextFile(`${root}/deno.lock`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  // Deno installs every npm package of the root lock on any run, used or not.
  if (lock !== undefined) {
    assert.equal(JSON.parse(lock).npm, undefined, "deno.lock has npm packages");
  }
  for (const dir of ["framing", "tcp", "udp", "examples", "tests"]) {
    for await (const path of walk(`${root}/${dir}`)) {
      const source = await Deno.readTextFile(path);
      const remote = [...source.matchAll(/\bfrom\s+["']((?:npm|jsr|https?):[^"']+)["']/g)];
      assert.deepEqual(remote.map((m) => m[1]), [], `${path} imports from a registry`);
    }
  }
});

/** The `.ts` files under `dir`, except `tests/peers/` (the benchmarks against npm packages). */
async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && path !== `${root}/tests/peers`) yield* walk(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}
