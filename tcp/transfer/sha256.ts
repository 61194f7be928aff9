/**
 * The SHA-256 of a transfer, off the main thread when it pays: for a large file the hashing runs
 * in a worker, so that socket reads, file writes and hashing overlap (hashing is a third of the
 * work and runs at about the speed of the loopback). The worker reads the very memory the
 * transfer's buffers live in (`SharedArrayBuffer`): nothing is copied, and a buffer is reused
 * only after its bytes were hashed (and written), so the digest covers exactly the bytes written.
 *
 * The worker is this package's own module: it needs no permission beyond loading it (read access
 * to the package's files when it lives on disk). When that is not granted, or the worker does not
 * start, the hash runs on the main thread, with the same result.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { FileTransferError } from "./error.ts";
import type { HashReply, HashRequest } from "./hash_worker.ts";
// Part of the module graph, so that a cached or published package holds the worker's module.
import "./hash_worker.ts";

/** Files at least this large are hashed in a worker (starting one costs a few milliseconds). */
export const WORKER_HASH_MIN = 16 * 1024 * 1024;

/**
 * The fewest CPUs for which `"auto"` hashes in a worker. Hashing, socket and file copies on both
 * ends of a local transfer keep two CPUs busy already: a worker then only adds its own cost.
 */
export const WORKER_HASH_MIN_CPUS = 4;

/** Where a transfer hashes: see `FileTransferOptions.hashWorker`. */
export type HashWorkerChoice = "auto" | boolean;

/** An incremental SHA-256 whose updates may run elsewhere. */
export interface Sha256 extends Disposable {
  /**
   * Adds `chunk`; resolves once its bytes were read, when its memory may be reused. Chunks are
   * hashed in the order given. Use buffers from {@linkcode Sha256.buffer}.
   */
  update(chunk: Uint8Array): Promise<void>;
  /** The hex digest of the bytes so far; the hash goes on. */
  peek(): Promise<string>;
  /** The hex digest of the bytes so far; the hash starts over. */
  digest(): Promise<string>;
  /** A buffer of `size` bytes whose views {@linkcode Sha256.update} takes without a copy. */
  buffer(size: number): Uint8Array;
  /** How many buffers a transfer should circulate to keep reading while earlier ones hash. */
  readonly depth: number;
  /**
   * Whether updates run on this thread, at once: then small updates right after each read are
   * best (the bytes are still in the cache); a worker is best fed whole buffers.
   */
  readonly inline: boolean;
}

/** A SHA-256 for a file of `size` bytes: in a worker when chosen (or worth it) and possible. */
export function sha256For(size: number, choice: HashWorkerChoice = "auto"): Sha256 {
  const wanted = choice === "auto"
    ? size >= WORKER_HASH_MIN && (navigator.hardwareConcurrency ?? 1) >= WORKER_HASH_MIN_CPUS
    : choice;
  return wanted && workerAllowed() ? new WorkerSha256() : new InlineSha256();
}

/** On the main thread (small files, or no worker). */
export class InlineSha256 implements Sha256 {
  readonly depth = 2;
  readonly inline = true;
  #hash: Hash = createHash("sha256");
  update(chunk: Uint8Array): Promise<void> {
    this.#hash.update(chunk);
    return Promise.resolve();
  }
  peek(): Promise<string> {
    return Promise.resolve(this.#hash.copy().digest("hex"));
  }
  digest(): Promise<string> {
    const hex = this.#hash.digest("hex");
    this.#hash = createHash("sha256");
    return Promise.resolve(hex);
  }
  buffer(size: number): Uint8Array {
    return new Uint8Array(size);
  }
  [Symbol.dispose](): void {}
}

const WORKER_URL = new URL("./hash_worker.ts", import.meta.url);

/** Whether loading the worker needs no permission that was not granted (it never prompts). */
function workerAllowed(): boolean {
  if (typeof Worker !== "function" || typeof SharedArrayBuffer !== "function") return false;
  if (WORKER_URL.protocol !== "file:") return true;
  try {
    return Deno.permissions.querySync({ name: "read", path: fileURLToPath(WORKER_URL) }).state ===
      "granted";
  } catch {
    return false;
  }
}

interface Pending {
  resolve(hex: string | undefined): void;
  reject(error: Error): void;
}

/**
 * In a worker. Requests wait until the worker has started; if it fails to start, the hash runs
 * here instead (nothing was sent to it yet). A worker that fails later fails every request.
 */
export class WorkerSha256 implements Sha256 {
  readonly depth = 4;
  readonly inline = false;
  #worker: Worker;
  #pending: Pending[] = [];
  #ready: Promise<boolean>;
  #fallback?: InlineSha256;
  #failed?: Error;
  #started!: (ok: boolean) => void;

  constructor() {
    this.#worker = new Worker(WORKER_URL, { type: "module", name: "sockkit sha256" });
    this.#ready = new Promise((resolve) => this.#started = resolve);
    const started = this.#started;
    this.#worker.onmessage = ({ data }: MessageEvent<HashReply | "ready">) => {
      if (data === "ready") return started(true);
      const pending = this.#pending.shift();
      if (data.ok) pending?.resolve(data.hex);
      else pending?.reject(new FileTransferError("io", `hashing failed: ${data.message}`));
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      started(false);
      this.#fail(new FileTransferError("io", `the hashing worker failed: ${event.message}`));
    };
    this.#worker.onmessageerror = () => {
      this.#fail(new FileTransferError("io", "the hashing worker sent an unreadable message"));
    };
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    this.#started(true); // a request that waits for the start sees the failure
    this.#worker.terminate();
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }

  async #request(request: HashRequest): Promise<string | undefined> {
    if (!await this.#ready) {
      this.#fallback ??= new InlineSha256();
      if (request.op === "peek") return this.#fallback.peek();
      if (request.op === "digest") return this.#fallback.digest();
      await this.#fallback.update(new Uint8Array(request.memory, request.offset, request.length));
      return undefined;
    }
    if (this.#failed !== undefined) throw this.#failed;
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#worker.postMessage(request);
    });
  }

  async update(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    let view = chunk;
    if (!(view.buffer instanceof SharedArrayBuffer)) {
      view = this.buffer(chunk.length);
      view.set(chunk);
    }
    await this.#request({
      op: "update",
      memory: view.buffer as SharedArrayBuffer,
      offset: view.byteOffset,
      length: view.length,
    });
  }

  async peek(): Promise<string> {
    return (await this.#request({ op: "peek" }))!;
  }

  async digest(): Promise<string> {
    return (await this.#request({ op: "digest" }))!;
  }

  buffer(size: number): Uint8Array {
    return new Uint8Array(new SharedArrayBuffer(size));
  }

  [Symbol.dispose](): void {
    this.#fail(new FileTransferError("io", "the hash was closed"));
  }
}
