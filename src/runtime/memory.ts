// The kernel's linear memory, shared by every optimizer: a first-fit allocator over byte ranges above the
// kernel's static data, growing the memory when needed, and views that follow the memory when it grows
// (growing detaches the old ArrayBuffer, so a view is re-derived whenever the buffer has changed).
import { fail } from "../errors.js";
import { getKernel } from "./kernel.js";

const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB
const ALIGN = 64; // a cache line, so every buffer starts on one

interface Block {
  at: number;
  size: number;
}

let free: Block[] | undefined; // sorted by address
let top = 0; // end of the managed range (the memory's current size)
let base = 0; // start of the managed range: the kernel's heap base (the memory may start with 0 pages)

function setup(): void {
  if (free) return;
  const k = getKernel();
  base = Math.ceil(k.heapBase() / ALIGN) * ALIGN;
  top = k.memory.buffer.byteLength;
  free = base < top ? [{ at: base, size: top - base }] : [];
}

/** Bytes `size` (rounded up to 64) of linear memory, 64-byte aligned, zero-filled. */
export function alloc(size: number, what: string): number {
  setup();
  const need = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
  const blocks = free!;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b.size >= need) {
      const at = b.at;
      b.at += need;
      b.size -= need;
      if (b.size === 0) blocks.splice(i, 1);
      new Uint8Array(getKernel().memory.buffer, at, need).fill(0);
      return at;
    }
  }
  // Grow: reuse a free block that ends at the top of memory.
  const last = blocks[blocks.length - 1];
  const tail = last && last.at + last.size === top ? last.size : 0;
  const start = Math.max(top - tail, base);
  const pages = Math.ceil((start + need - top) / PAGE);
  const memory = getKernel().memory;
  const current = memory.buffer.byteLength / PAGE;
  if (current + pages > MAX_PAGES) {
    fail("OUT_OF_MEMORY",
      `${what}: out of memory: needs ${need} more bytes, but the wasm32 memory is limited to 4 GiB ` +
        `and ${current * PAGE} bytes are already in use`,
    );
  }
  try {
    memory.grow(pages);
  } catch (e) {
    fail("OUT_OF_MEMORY", `${what}: out of memory: the engine refused to grow the wasm memory by ${pages * PAGE} bytes (${e})`);
  }
  if (tail) blocks.pop();
  top = memory.buffer.byteLength;
  const rest = top - (start + need);
  if (rest > 0) blocks.push({ at: start + need, size: rest });
  new Uint8Array(memory.buffer, start, need).fill(0);
  return start;
}

/** Returns a range from alloc() to the free list, merging neighbours. */
export function release(at: number, size: number): void {
  const need = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
  const blocks = free!;
  let i = 0;
  while (i < blocks.length && blocks[i].at < at) i++;
  blocks.splice(i, 0, { at, size: need });
  if (i + 1 < blocks.length && at + need === blocks[i + 1].at) {
    blocks[i].size += blocks[i + 1].size;
    blocks.splice(i + 1, 1);
  }
  if (i > 0 && blocks[i - 1].at + blocks[i - 1].size === at) {
    blocks[i - 1].size += blocks[i].size;
    blocks.splice(i, 1);
  }
}

/** The current ArrayBuffer of the kernel's memory (a new one after every growth). */
export function buffer(): ArrayBuffer {
  return getKernel().memory.buffer as ArrayBuffer;
}
