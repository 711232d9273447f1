// Starting a worker with inline source, per runtime: node:worker_threads in Node, Bun and Deno (whose Web
// Workers would keep the process alive: they have no unref), module Web Workers from a Blob URL in
// browsers. The worker's code is a string (src/runtime/threads.ts), so no file has to be found next to the bundle
// and no bundler has to be configured.

/** The part of a Node Worker or a Web Worker the pool uses. */
export interface Thread {
  postMessage(message: unknown): void;
  terminate(): void;
}

export interface Spawned {
  thread: Thread;
  /** Resolves with the worker's first message, rejects on its first error. */
  firstMessage: Promise<unknown>;
  /** Lets the process exit while the worker waits for work (Node); no-op elsewhere. */
  unref(): void;
}

interface NodeWorker extends Thread {
  once(event: string, fn: (x: unknown) => void): void;
  unref(): void;
}
type NodeWorkerThreads = { Worker: new (source: string, options: { eval: true }) => NodeWorker };

const g = globalThis as unknown as {
  Deno?: unknown;
  process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };
};

/** "node" for Node, Bun and Deno (worker_threads), "web" for browsers (module workers), else null. */
export function runtimeKind(): "node" | "web" | null {
  if (g.Deno !== undefined || g.process?.versions?.node) return "node";
  if (typeof Worker === "function" && typeof Blob === "function" && typeof URL?.createObjectURL === "function") return "web";
  return null;
}

async function nodeWorkerThreads(): Promise<NodeWorkerThreads> {
  const builtin = g.process?.getBuiltinModule?.("node:worker_threads");
  if (builtin) return builtin as NodeWorkerThreads;
  // Node 20 before 20.16 has no getBuiltinModule. The specifier is a variable so that bundlers for the
  // browser leave it alone (this line only runs in Node).
  const id = "node:worker_threads";
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ id)) as NodeWorkerThreads;
}

/**
 * Starts one worker running `body`, a script that defines `function main(message, post)`: it is called with
 * the first message the worker receives and a function posting messages back.
 */
export async function spawn(body: string): Promise<Spawned> {
  const kind = runtimeKind();
  if (kind === "node") {
    const { Worker: NodeWorkerCtor } = await nodeWorkerThreads();
    const source = `${body}\nconst { parentPort } = require("node:worker_threads");\nparentPort.once("message", (m) => main(m, (x) => parentPort.postMessage(x)));\n`;
    const w = new NodeWorkerCtor(source, { eval: true });
    const firstMessage = new Promise<unknown>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
      w.once("exit", (code) => reject(new Error(`the worker exited with code ${String(code)} before it was ready`)));
    });
    return { thread: w, firstMessage, unref: () => w.unref() };
  }
  if (kind === "web") {
    const source = `${body}\nself.addEventListener("message", (e) => main(e.data, (x) => self.postMessage(x)), { once: true });\n`;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const w = new Worker(url, { type: "module" });
    const firstMessage = new Promise<unknown>((resolve, reject) => {
      w.addEventListener("message", (e) => resolve(e.data), { once: true });
      w.addEventListener("error", (e) => reject(new Error(`the worker failed: ${e.message ?? "error"}`)), { once: true });
    });
    firstMessage.finally(() => URL.revokeObjectURL(url)).catch(() => {});
    return { thread: w, firstMessage, unref: () => {} };
  }
  throw new Error("this runtime has neither worker_threads nor Web Workers");
}
