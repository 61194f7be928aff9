/**
 * remote_exec: the tutorial's ssh-like remote command program, twice.
 *
 * - `server` / `client`: done safely. Authenticated (HMAC-SHA256 challenge–response with a token
 *   from a file or an environment variable), no shell unless `--shell`, an optional allow-list,
 *   a cleared environment (`--env NAME` passes more), a wall-clock timeout that kills the whole
 *   process group, an output cap, output streamed as it is produced over length-prefixed frames,
 *   optional TLS.
 * - `naive-server` / `naive-client`: the tutorial's program as written — one `recv(1024)` per
 *   command, no framing, a shell, no authentication — to show its sticky-packet bug. Loopback only.
 *
 * Run `deno run --allow-net --allow-read --allow-run --allow-env examples/remote_exec.ts --help`.
 *
 * Exit codes — client: the remote command's status (124 on timeout, 128+N when signal N ended
 * it; 0 after `quit` at the prompt), 126 when the server refused the command, 1 on a connection,
 * authentication or protocol failure, 2 on a usage error. Server: 0 when stopped by SIGINT/SIGTERM, 1 when it cannot
 * listen, 2 on a usage error (including a missing or short token).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  connectRemoteExec,
  isLoopback,
  loadToken,
  REMOTE_EXEC_TOKEN_ENV,
  type RemoteCommand,
  RemoteCommandRefusedError,
  type RemoteExecClient,
  type RemoteExecLogEntry,
  SAFE_PATH,
  serveRemoteExec,
} from "../tcp/exec/mod.ts";
import { TimeoutError } from "../tcp/mod.ts";
import { writeAll } from "../tcp/mod.ts";
import {
  encoder,
  makeDecoder,
  parseCount,
  parseDuration,
  parseHostPort,
  parseSize,
  splitCommandLine,
  stdinLines,
  UsageError,
} from "./remote_exec_flags.ts";
import { runNaiveClient, runNaiveServer } from "./remote_exec_naive.ts";

const USAGE = `remote_exec — run commands on another machine over framed TCP (sockkit)

usage:
  remote_exec.ts server --listen [HOST:]PORT (--token-file F | $${REMOTE_EXEC_TOKEN_ENV})
                 [--token-env NAME] [--allow cmd1,cmd2] [--shell] [--env NAME]… [--timeout 10s]
                 [--kill-grace 2s] [--max-output 16MiB] [--max-connections 64] [--cwd DIR]
                 [--cert C --key K] [--insecure-no-auth] [--quiet]
  remote_exec.ts client --connect HOST:PORT (--token-file F | $${REMOTE_EXEC_TOKEN_ENV})
                 [--token-env NAME] [--encoding utf-8|gbk|…] [--ca C] [-c LINE | -- cmd args…]
  remote_exec.ts naive-server --listen [HOST:]PORT [--once]     (UNSAFE BY DESIGN, loopback only)
  remote_exec.ts naive-client --connect HOST:PORT [--encoding utf-8|gbk|…]

Run a subcommand with --help for its options.

exit codes:
  client: the remote command's status (0–255; 124 on timeout, 128+N when signal N ended it),
          126 when the server refused the command, 1 on connection/authentication failure,
          2 on a usage error
  server: 0 when stopped by SIGINT/SIGTERM, 1 when it cannot listen, 2 on a usage error
`;

const SERVER_HELP = `remote_exec.ts server — serve remote commands

  --listen [HOST:]PORT   address (HOST defaults to 127.0.0.1; port 0 picks one, printed on stdout)
  --token-file F         file holding the shared token (≥ 16 bytes; e.g. \`openssl rand -hex 32 > F\`)
  --token-env NAME       environment variable holding the token (default ${REMOTE_EXEC_TOKEN_ENV},
                         read when no --token-file is given). Never pass a token in argv.
  --allow cmd1,cmd2      only these programs may run (exact argv[0]; resolved to absolute paths
                         in the search path at start-up). Without it any program may run.
  --shell                accept shell lines (/bin/sh -c); not with --allow
  --env NAME             pass this variable of the server's environment to the commands
                         (repeatable or NAME1,NAME2). Commands get a cleared environment:
                         PATH (the search path), HOME, LANG, LC_ALL, LC_CTYPE, LOGNAME, TZ, USER
                         when set, and these. The token's variable is never passed.
  --path DIRS            the commands' search path, absolute directories only
                         (default ${SAFE_PATH})
  --timeout 10s          wall-clock limit per command (ms, s, m; 0 = none): SIGTERM to the group,
  --kill-grace 2s        then SIGKILL after this grace period
  --max-output 16MiB     cap on stdout+stderr per command (B, KiB, MiB, GiB); the rest is cut
  --max-connections 64   connections at once
  --cwd DIR              working directory of the commands
  --cert C --key K       serve TLS with this PEM certificate and key
  --insecure-no-auth     serve without a token (only on a loopback address)
  --quiet                do not log connections to stderr

exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen, 2 usage error (incl. no/short token)
`;

const CLIENT_HELP = `remote_exec.ts client — run a command on a remote_exec server

  --connect HOST:PORT    the server
  --token-file F         file holding the shared token
  --token-env NAME       environment variable holding it (default ${REMOTE_EXEC_TOKEN_ENV})
  --encoding ENC         decode the remote output from ENC (e.g. gbk); default: bytes as they are
  --ca C                 trust this PEM certificate (TLS; e.g. the server's self-signed one)
  -c LINE                run a shell line (the server must run with --shell)
  -- cmd args…           run this argv; without a command, an interactive prompt
                         (\`quit\` or an empty line exits with 0)

Remote stdout goes to stdout, remote stderr to stderr, as they arrive.
exit codes: the remote status (124 timeout, 128+N signal N), 126 refused, 1 connection or
authentication failure, 2 usage error
`;

async function tokenFrom(values: { "token-file"?: string; "token-env"?: string }) {
  try {
    return await loadToken({ file: values["token-file"], env: values["token-env"] });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`token file not found: ${values["token-file"]}`);
    }
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

function serverLog(entry: RemoteExecLogEntry): void {
  const where = entry.remote === undefined ? "" : ` ${entry.remote}`;
  console.error(`remote_exec: ${entry.event}${where}: ${entry.message}`);
}

async function runServer(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      listen: { type: "string" },
      "token-file": { type: "string" },
      "token-env": { type: "string" },
      allow: { type: "string" },
      shell: { type: "boolean" },
      env: { type: "string", multiple: true },
      path: { type: "string" },
      timeout: { type: "string", default: "10s" },
      "kill-grace": { type: "string", default: "2s" },
      "max-output": { type: "string", default: "16MiB" },
      "max-connections": { type: "string", default: "64" },
      cwd: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "insecure-no-auth": { type: "boolean" },
      quiet: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(SERVER_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const { hostname, port } = parseHostPort(values.listen, "--listen");
  const allow = values.allow?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (values.shell && allow !== undefined) {
    throw new UsageError("--shell and --allow cannot be combined");
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const env = (values.env ?? []).flatMap((v) => v.split(",")).map((v) => v.trim())
    .filter((v) => v !== "");
  const tokenEnv = values["token-env"] ?? REMOTE_EXEC_TOKEN_ENV;
  if (env.includes(tokenEnv)) {
    throw new UsageError(`--env ${tokenEnv}: that variable holds the token; it is never passed`);
  }
  // Every flag is checked before anything starts: a bad value is a usage error (exit 2).
  const limits = {
    timeout: parseDuration(values.timeout, "--timeout"),
    killGrace: parseDuration(values["kill-grace"], "--kill-grace"),
    maxOutput: parseSize(values["max-output"], "--max-output"),
    maxConnections: parseCount(values["max-connections"], "--max-connections"),
  };
  let token: Uint8Array | undefined;
  if (values["insecure-no-auth"]) {
    if (!isLoopback(hostname)) {
      throw new UsageError(
        `--insecure-no-auth is only allowed on a loopback address, not ${hostname}`,
      );
    }
    console.error("remote_exec: WARNING: serving WITHOUT authentication (loopback only)");
  } else {
    token = await tokenFrom(values);
  }
  const tls = values.cert !== undefined
    ? { cert: await Deno.readTextFile(values.cert), key: await Deno.readTextFile(values.key!) }
    : undefined;
  const stop = new AbortController();
  let server;
  try {
    server = serveRemoteExec({
      hostname,
      port,
      token,
      insecureNoAuth: values["insecure-no-auth"],
      allow,
      shell: values.shell,
      env,
      path: values.path,
      ...limits,
      cwd: values.cwd,
      tls,
      signal: stop.signal,
      log: values.quiet ? () => {} : serverLog,
    });
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UsageError(error.message);
    }
    console.error(`remote_exec: cannot listen on ${hostname}:${port}: ${error}`);
    return 1;
  }
  if (allow === undefined) {
    console.error(
      `remote_exec: WARNING: no --allow: whoever holds the token may run ANY program ${
        values.shell ? "and shell line " : ""
      }as this user`,
    );
  }
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  console.log(`listening on ${host}:${server.addr.port}`);
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await server.finished;
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  return 0;
}

async function runClient(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      connect: { type: "string" },
      "token-file": { type: "string" },
      "token-env": { type: "string" },
      encoding: { type: "string" },
      ca: { type: "string" },
      c: { type: "string", short: "c" },
    },
  });
  if (values.help) {
    console.log(CLIENT_HELP);
    return 0;
  }
  const { hostname, port } = parseHostPort(values.connect, "--connect");
  if (port === 0) throw new UsageError("--connect: port 0 is not a server's port");
  if (values.c !== undefined && positionals.length > 0) {
    throw new UsageError("give either -c LINE or -- cmd args…, not both");
  }
  const encoding = values.encoding?.toLowerCase();
  const passthrough = encoding === undefined || encoding === "utf-8" || encoding === "utf8";
  makeDecoder(encoding); // checks the label
  // The token is optional here: a server in --insecure-no-auth mode needs none.
  const wantToken = values["token-file"] !== undefined ||
    Deno.env.get(values["token-env"] ?? REMOTE_EXEC_TOKEN_ENV) !== undefined;
  const token = wantToken ? await tokenFrom(values) : undefined;
  const caCerts = values.ca !== undefined ? [await Deno.readTextFile(values.ca)] : undefined;

  let client: RemoteExecClient;
  try {
    client = await connectRemoteExec({
      hostname,
      port,
      token,
      tls: caCerts !== undefined ? { caCerts } : undefined,
    });
  } catch (error) {
    let why = error instanceof Error ? error.message : String(error);
    if (error instanceof TimeoutError) {
      why = `no answer within ${error.timeout} ms (${error.kind})`;
    }
    if (caCerts === undefined && /expects? TLS/.test(why)) why += "; for TLS give --ca FILE";
    console.error(`remote_exec: cannot connect to ${values.connect}: ${why}`);
    return 1;
  }
  try {
    const runOne = async (command: RemoteCommand): Promise<number> => {
      // One streaming decoder per stream, so a character split across chunks decodes whole.
      const outDecoder = passthrough ? undefined : new TextDecoder(encoding, { fatal: false });
      const errDecoder = passthrough ? undefined : new TextDecoder(encoding, { fatal: false });
      const emit =
        (out: typeof Deno.stdout, decoder: TextDecoder | undefined) => (chunk: Uint8Array) =>
          writeAll(
            out,
            decoder ? encoder.encode(decoder.decode(chunk, { stream: true })) : chunk,
          );
      const cancel = new AbortController();
      const onInt = () => cancel.abort();
      Deno.addSignalListener("SIGINT", onInt);
      try {
        const result = await client.run(command, {
          onStdout: emit(Deno.stdout, outDecoder),
          onStderr: emit(Deno.stderr, errDecoder),
          signal: cancel.signal,
        });
        if (outDecoder) await writeAll(Deno.stdout, encoder.encode(outDecoder.decode()));
        if (errDecoder) await writeAll(Deno.stderr, encoder.encode(errDecoder.decode()));
        if (result.timedOut) {
          console.error(`remote_exec: timed out after ${client.server.timeout} ms`);
        }
        if (result.truncated) {
          console.error(
            `remote_exec: output truncated at ${client.server.maxOutput} bytes; command stopped`,
          );
        }
        return result.exitStatus;
      } catch (error) {
        if (error instanceof RemoteCommandRefusedError) {
          const hint = /shell lines/.test(error.message)
            ? " (the server runs without --shell)"
            : "";
          console.error(`remote_exec: refused: ${error.message}${hint}`);
          return 126;
        }
        throw error;
      } finally {
        Deno.removeSignalListener("SIGINT", onInt);
      }
    };
    if (values.c !== undefined) return await runOne({ shell: values.c });
    if (positionals.length > 0) return await runOne(positionals);
    // Interactive, like the tutorial's client. `quit` or an empty line exits with 0, the end of
    // the input with the last command's status (as a shell reading a script).
    let status = 0;
    const prompt = () => writeAll(Deno.stdout, encoder.encode(">>> "));
    await prompt();
    for await (const raw of stdinLines()) {
      const line = raw.trim();
      if (line === "" || line === "quit") return 0;
      let command: RemoteCommand;
      try {
        command = client.server.shell ? { shell: line } : splitCommandLine(line);
      } catch (error) {
        console.error(`remote_exec: ${(error as Error).message}`);
        await prompt();
        continue;
      }
      status = await runOne(command);
      await prompt();
    }
    return status;
  } catch (error) {
    console.error(
      `remote_exec: ${error instanceof Error ? `${error.name}: ${error.message}` : error}`,
    );
    return 1;
  } finally {
    await client.close();
  }
}

/**
 * Runs the CLI.
 *
 * @param args The command-line arguments.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case "server":
        return await runServer(rest);
      case "client":
        return await runClient(rest);
      case "naive-server":
        return await runNaiveServer(rest);
      case "naive-client":
        return await runNaiveClient(rest);
      case "-h":
      case "--help":
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(
          sub === undefined ? "a subcommand is required" : `unknown subcommand: ${sub}`,
        );
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (
      error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))
    ) {
      console.error(`remote_exec: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`remote_exec: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
