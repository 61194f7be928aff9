// Copyright 2025 the sockkit authors. MIT license.
/**
 * The socket lab: a local web page where you run the tutorial's experiments on real sockets
 * on loopback and see every boundary drawn.
 *
 * ```sh
 * deno task lab      # = deno run --allow-net=127.0.0.1 --allow-read=examples/lab/static examples/lab/server.ts
 * ```
 *
 * It listens on 127.0.0.1 only, at a free port it prints, answers only requests whose `Host`
 * is that address, runs one experiment at a time per page (and at most two at once), bounds
 * every setting and every run (20 s), and answers bad settings with HTTP 400 and a message.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DeadlineError, describeExperiments, runExperiment } from "./experiments.ts";
import { SettingsError } from "./settings.ts";

/** Settings of {@linkcode startLab}. */
export interface LabOptions {
  /** The port; `0` picks a free one. @default {0} */
  port?: number;
  /** Runs at once over all pages. @default {2} */
  maxRuns?: number;
  /** The longest one run may take, in ms. @default {20000} */
  runDeadline?: number;
}

/** A running lab. */
export interface Lab extends AsyncDisposable {
  /** Its address (always 127.0.0.1). */
  readonly addr: Deno.NetAddr;
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Stops it. */
  shutdown(): Promise<void>;
}

const STATIC: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/lab.js": "lab.js",
  "/draw.js": "draw.js",
  "/lab.css": "lab.css",
};
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};
const MAX_BODY = 16 * 1024;
const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
};

async function loadStatic(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of new Set(Object.values(STATIC))) {
    files.set(
      name,
      await Deno.readFile(new URL(`./static/${name}`, import.meta.url)),
    );
  }
  return files;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...HEADERS, "content-type": "application/json; charset=utf-8" },
  });
}

const fail = (status: number, error: string) => json(status, { error });

async function readBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY) {
    throw new SettingsError(`request body over ${MAX_BODY} bytes`);
  }
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY) {
      await reader.cancel();
      throw new SettingsError(`request body over ${MAX_BODY} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return new TextDecoder().decode(all);
}

function parseRunRequest(
  text: string,
): { experiment: string; settings: Record<string, string> } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SettingsError("the request body is not JSON");
  }
  const b = body as { experiment?: unknown; settings?: unknown };
  if (typeof b !== "object" || b === null || typeof b.experiment !== "string") {
    throw new SettingsError(
      'the request needs {"experiment": "…", "settings": {…}}',
    );
  }
  const settings: Record<string, string> = {};
  if (b.settings !== undefined) {
    if (
      typeof b.settings !== "object" || b.settings === null ||
      Array.isArray(b.settings)
    ) {
      throw new SettingsError("settings must be an object of names to values");
    }
    for (const [name, value] of Object.entries(b.settings)) {
      if (typeof value !== "string" && typeof value !== "number") {
        throw new SettingsError(
          `setting ${name.slice(0, 40)} must be a string or a number`,
        );
      }
      settings[name] = String(value);
    }
  }
  return { experiment: b.experiment, settings };
}

/**
 * Starts the lab on 127.0.0.1.
 *
 * Requires `allow-net` permission for 127.0.0.1 and `allow-read` for `examples/lab/static`.
 *
 * @param options Port, run limits.
 * @returns The running lab.
 */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const files = await loadStatic();
  const maxRuns = options.maxRuns ?? 2;
  const busyPages = new Set<string>();
  let running = 0;
  let port = 0;
  const allowed = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const handle = async (
    request: Request,
    info: Deno.ServeHandlerInfo,
  ): Promise<Response> => {
    const remote = (info.remoteAddr as Deno.NetAddr).hostname;
    const host = request.headers.get("host") ?? "";
    if (!remote.startsWith("127.") || !allowed().has(host)) {
      return fail(
        403,
        `this lab answers only on loopback: open http://127.0.0.1:${port}/`,
      );
    }
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname in STATIC) {
      const name = STATIC[url.pathname];
      return new Response(files.get(name)!.slice(), {
        headers: { ...HEADERS, "content-type": TYPES[name.split(".").pop()!] },
      });
    }
    if (request.method === "GET" && url.pathname === "/api/experiments") {
      return json(200, { experiments: describeExperiments() });
    }
    if (url.pathname !== "/api/run") {
      return fail(404, `no such page: ${url.pathname.slice(0, 80)}`);
    }
    if (request.method !== "POST") return fail(405, "POST a run to /api/run");
    const origin = request.headers.get("origin");
    if (origin !== null && !allowed().has(origin.replace(/^http:\/\//, ""))) {
      return fail(403, "runs are only accepted from the lab's own page");
    }
    if (
      !(request.headers.get("content-type") ?? "").startsWith(
        "application/json",
      )
    ) {
      return fail(415, "send the run as application/json");
    }
    const page = request.headers.get("x-lab-page") ?? "";
    if (!/^[\w-]{1,64}$/.test(page)) {
      return fail(400, "missing or bad X-Lab-Page header");
    }
    let run;
    try {
      run = parseRunRequest(await readBody(request));
    } catch (error) {
      return fail(400, (error as Error).message);
    }
    if (busyPages.has(page)) {
      return fail(
        409,
        "an experiment is already running for this page: wait for it to finish",
      );
    }
    if (running >= maxRuns) {
      return fail(
        503,
        `the lab runs at most ${maxRuns} experiments at once: try again soon`,
      );
    }
    busyPages.add(page);
    running++;
    try {
      return json(
        200,
        await runExperiment(run.experiment, run.settings, options.runDeadline),
      );
    } catch (error) {
      if (error instanceof SettingsError) return fail(400, error.message);
      if (error instanceof DeadlineError) return fail(504, error.message);
      return fail(500, `the experiment failed: ${(error as Error).message}`);
    } finally {
      busyPages.delete(page);
      running--;
    }
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
  }, handle);
  const addr = server.addr;
  port = addr.port;
  const shutdown = () => server.shutdown();
  return {
    addr,
    url: `http://127.0.0.1:${port}/`,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

const USAGE = `Usage: deno task lab [--port N] [--stop-after SECONDS]

Starts the socket lab on http://127.0.0.1:PORT/ (a free port unless --port) and prints its
address. Open it in a browser on this machine; Ctrl-C stops it.

Permissions: --allow-net=127.0.0.1 (loopback only), --allow-read=examples/lab/static (the page).`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      "stop-after": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const port = Number(values.port);
  const stopAfter = values["stop-after"] === undefined ? Infinity : Number(values["stop-after"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !(stopAfter > 0)) {
    console.error(`lab: bad --port or --stop-after\n\n${USAGE}`);
    Deno.exit(2);
  }
  const lab = await startLab({ port });
  console.log(`sockkit lab: ${lab.url}`);
  console.log("loopback only; Ctrl-C stops it");
  if (stopAfter !== Infinity) {
    setTimeout(async () => {
      await lab.shutdown();
      Deno.exit(0);
    }, stopAfter * 1000);
  }
}
