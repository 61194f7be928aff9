// Copyright 2025 the sockkit authors. MIT license.
/**
 * (c) The ssh-like program: a long answer's leftovers show up after the next command.
 *
 * The tutorial's remote-command client sends a command and prints one `recv(1024)`. `help`
 * answers with more than 1024 bytes; the rest stays in the socket, and the answer printed for
 * the next command, `date`, is the rest of `help`. The server here answers from a table instead
 * of running a shell, so the lesson runs the same everywhere. Then the same exchange over
 * sockkit's framed connection, where each answer is one message.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/03_ssh_leftovers.ts
 * ```
 *
 * @module
 */
import { connectFramed, listenFramed, writeAll } from "../../tcp/mod.ts";
import { type LessonOptions, main, recvText, tcpPair, type Verdict } from "./_lesson.ts";

const COMMANDS = ["ASSOC", "ATTRIB", "BREAK", "CALL", "CD", "CHCP", "CHDIR", "CHKDSK", "CLS"]
  .concat(["CMD", "COLOR", "COMP", "COPY", "DATE", "DEL", "DIR", "DISKCOMP", "DISKCOPY", "ECHO"])
  .concat(["ERASE", "EXIT", "FC", "FIND", "FOR", "FORMAT", "GOTO", "HELP", "ICACLS", "IF"]);
const ANSWERS: Record<string, string> = {
  help: COMMANDS.map((name) => `${name.padEnd(14)}shows or changes what ${name} is about.\n`).join(
    "",
  ),
  date: "The current date is: 2018-05-10\n",
};
const encoder = new TextEncoder();

/** The tutorial's programs: the server answers each recv(1024); the client prints one recv(1024). */
async function rawExchange(commands: string[]): Promise<string[]> {
  await using pair = await tcpPair();
  const server = (async () => {
    for (let i = 0; i < commands.length; i++) {
      const command = await recvText(pair.server, 1024);
      await writeAll(pair.server, encoder.encode(ANSWERS[command] ?? "unknown command\n"));
    }
  })();
  const printed: string[] = [];
  for (const command of commands) {
    await pair.client.write(encoder.encode(command));
    printed.push(await recvText(pair.client, 1024));
  }
  await server;
  return printed;
}

/** The same exchange over framed connections: one message per command, one per answer. */
async function framedExchange(commands: string[]): Promise<string[]> {
  await using listener = listenFramed({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    await using conn = (await listener.accept())!;
    for await (const frame of conn) {
      const command = new TextDecoder().decode(frame);
      await conn.send(encoder.encode(ANSWERS[command] ?? "unknown command\n"));
    }
  })();
  const printed: string[] = [];
  {
    await using client = await connectFramed({ port: listener.addr.port });
    for (const command of commands) {
      await client.send(encoder.encode(command));
      printed.push(new TextDecoder().decode((await client.receive())!));
    }
  }
  await server;
  return printed;
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const commands = ["help", "date"];
  const raw = await rawExchange(commands);
  const framed = await framedExchange(commands);
  const first = (text: string) => JSON.stringify(text.split("\n")[0]);
  log(`help answers ${encoder.encode(ANSWERS.help).length} bytes; date ${ANSWERS.date.length}.`);
  log(`recv(1024) after "help": ${raw[0].length} bytes, starting ${first(raw[0])}`);
  log(`recv(1024) after "date": ${raw[1].length} bytes, starting ${first(raw[1])}`);
  log(`framed, after "date":    ${framed[1].length} bytes, ${first(framed[1])}`);
  const rest = ANSWERS.help.slice(raw[0].length);
  const leftover = raw[1].length > 0 && (raw[1].startsWith(rest) || rest.startsWith(raw[1]));
  const fixed = framed[0] === ANSWERS.help && framed[1] === ANSWERS.date;
  return {
    id: "c",
    claim: "the ssh-like program prints the last answer's leftovers",
    reproduced: leftover && fixed,
    summary: `after "date" recv(1024) printed ${raw[1].length} more bytes of "help" ` +
      `(${ANSWERS.help.length} B); framed: "date" got its own ${framed[1].length} B`,
    data: { raw, framed },
  };
}

if (import.meta.main) await main({ run });
