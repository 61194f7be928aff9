/**
 * A scripted stand-in for a `Deno.Conn`, for tests whose point is the transport's logic (exact
 * chunkings, partial writes, stalls) rather than the kernel's.
 *
 * @module
 */

/** What one `read` call gets: bytes, the end of the stream, an error, or a wait first. */
export type ReadStep = Uint8Array | null | Error | (() => Promise<ReadStep>);

/** A fake connection: reads come from a script, writes go through a chosen policy. */
export class FakeConn {
  /** Every buffer `read` was given (to see which memory the transport reads into). */
  readonly readTargets: Uint8Array[] = [];
  /** Every chunk written, copied, in order. */
  readonly written: Uint8Array[] = [];
  closed = false;
  writeClosed = false;
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 2 };
  #script: ReadStep[];
  #next = 0;
  #pendingBytes: Uint8Array | undefined;
  #wakeReaders: (() => void)[] = [];
  #onClose: (() => void)[] = [];
  #write: (p: Uint8Array) => number | Promise<number>;

  /**
   * @param script What successive reads get; after the script, reads wait until `close()`.
   * @param write How many bytes a write takes (default: all of them).
   */
  constructor(script: ReadStep[] = [], write?: (p: Uint8Array) => number | Promise<number>) {
    this.#script = [...script];
    this.#write = write ?? ((p) => p.length);
  }

  /** Appends steps to the script (wakes a waiting read). */
  push(...steps: ReadStep[]): void {
    this.#script.push(...steps);
    for (const wake of this.#wakeReaders.splice(0)) wake();
  }

  async read(p: Uint8Array): Promise<number | null> {
    this.readTargets.push(p);
    for (;;) {
      if (this.closed) throw new Deno.errors.Interrupted("closed while reading");
      if (this.#pendingBytes !== undefined) {
        const bytes = this.#pendingBytes;
        const n = Math.min(bytes.length, p.length);
        p.set(bytes.subarray(0, n));
        this.#pendingBytes = n < bytes.length ? bytes.subarray(n) : undefined;
        return n;
      }
      let step = this.#script[this.#next];
      if (step !== undefined) this.#script[this.#next++] = undefined as unknown as ReadStep;
      if (step === undefined) {
        await new Promise<void>((resolve) => this.#wakeReaders.push(resolve));
        continue;
      }
      while (typeof step === "function") step = await step();
      if (step === null) return null;
      if (step instanceof Error) throw step;
      this.#pendingBytes = step;
    }
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.closed) throw new Deno.errors.BadResource("closed");
    // as with Deno, closing ends a write that waits
    const closing = new Promise<never>((_, reject) =>
      this.#onClose.push(() => reject(new Deno.errors.Interrupted("closed while writing")))
    );
    const n = await Promise.race([this.#write(p), closing]);
    this.written.push(p.slice(0, n));
    return n;
  }

  closeWrite(): Promise<void> {
    this.writeClosed = true;
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) throw new Deno.errors.BadResource("closed twice");
    this.closed = true;
    for (const wake of this.#wakeReaders.splice(0)) wake();
    for (const end of this.#onClose.splice(0)) end();
  }

  /** The written bytes, concatenated. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.written.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.written) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** As a `Deno.Conn`, for `new FramedConn(…)`. */
  get conn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }
}

/** Waits `ms` milliseconds, then yields `step` (a read that stalls first). */
export function after(ms: number, step: ReadStep): () => Promise<ReadStep> {
  return () => new Promise((resolve) => setTimeout(() => resolve(step), ms));
}
