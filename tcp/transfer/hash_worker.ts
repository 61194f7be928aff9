/**
 * The body of the hashing worker of {@linkcode ./sha256.ts}: one incremental SHA-256, fed views
 * of shared memory, answering every message in the order it came. Imported by the main thread
 * only so that the module is part of the package's module graph (cached and published with
 * it); there it does nothing.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

/** A request to the hashing worker. */
export type HashRequest =
  | { op: "update"; memory: SharedArrayBuffer; offset: number; length: number }
  | { op: "peek" }
  | { op: "digest" };

/** The worker's answer to one request, in order: a hex digest for `peek`/`digest`. */
export type HashReply = { ok: true; hex?: string } | { ok: false; message: string };

/** Whether this module runs as the worker's main module. */
const scopeClass = (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
  .WorkerGlobalScope;
const inWorker = scopeClass !== undefined && globalThis instanceof scopeClass;

if (inWorker) {
  let hash: Hash = createHash("sha256");
  const scope = self as unknown as {
    onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
    postMessage(message: HashReply | "ready"): void;
  };
  scope.onmessage = ({ data }) => {
    try {
      if (data.op === "update") {
        hash.update(new Uint8Array(data.memory, data.offset, data.length));
        scope.postMessage({ ok: true });
      } else if (data.op === "peek") {
        scope.postMessage({ ok: true, hex: hash.copy().digest("hex") });
      } else {
        const hex = hash.digest("hex");
        hash = createHash("sha256");
        scope.postMessage({ ok: true, hex });
      }
    } catch (error) {
      scope.postMessage({ ok: false, message: String(error) });
    }
  };
  scope.postMessage("ready");
}
