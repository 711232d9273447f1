// threads: "auto": for each step of an optimizer large enough to split (see MIN_SPLIT in optimizer.ts),
// whether it runs on one thread or on all. The optimizer times its own steps both ways and keeps the
// faster, re-checking the other every EXPLORE steps to follow changes in load; it switches only when the
// other way is faster by the factor SWITCH (noise would flip a plain comparison). Only the steps that are
// compared are timed: reading a clock allocates (a boxed number), which a step otherwise never does.

const WARM = 4;
const EXPLORE = 256;
const SWITCH = 0.97;

/** The automatic choice between one thread and all: estimates of each, in ms per step. */
export class ThreadChoice {
  one = 0;
  all = 0;
  private nOne = 0;
  private nAll = 0;
  private steps = 0;
  useAll = false;
  /** Whether the step that next() just chose is to be timed (start() before it, stop() after). */
  count = false;
  // [0]: when the timed step started, [1]: its length (ms). Doubles travel through this array, not as call
  // arguments: V8 boxes a double passed to a call it does not inline.
  private readonly clock = new Float64Array(2);

  /**
   * Which way this step runs. Each way is timed over a run of steps whose first is not counted: it pays for
   * waking workers that slept while the other way ran, and for code not yet optimized. Warm-up: WARM + 1
   * steps on all threads, WARM + 1 on one; then the faster way, with two steps the other way now and then.
   */
  next(): boolean {
    const k = this.steps++;
    if (k <= 2 * WARM + 1) {
      this.count = k !== 0 && k !== WARM + 1;
      return k <= WARM;
    }
    // The other way is re-checked every EXPLORE steps, or 4 times as rarely when it lost by far: two steps
    // that way (the second timed), then one timed step this way, for a comparison under the same load.
    const far = this.useAll ? this.one > 1.25 * this.all : this.all > 1.25 * this.one;
    const phase = k % (far ? 4 * EXPLORE : EXPLORE);
    this.count = phase === 1 || phase === 2;
    return phase < 2 ? !this.useAll : this.useAll;
  }

  start(): void {
    this.clock[0] = performance.now();
  }

  /** Ends a timed step that ran on all threads or on one. */
  stop(all: boolean): void {
    this.clock[1] = performance.now() - this.clock[0];
    this.fold(all);
  }

  /** Records a timed step of `ms` milliseconds (what stop() measures; tests give it synthetic times). */
  record(all: boolean, ms: number): void {
    this.clock[1] = ms;
    this.fold(all);
  }

  // Folds the timed step into the estimate of its way. Warm-up steps keep their minimum: the first steps of
  // a new optimizer run partly in V8's baseline code (3 ms where 0.4 ms follows, at 1M), and an average
  // would carry that into the choice for thousands of steps. Later samples move a running average, in which
  // an outlier counts as twice the estimate, so it follows load.
  private fold(all: boolean): void {
    const ms = this.clock[1];
    if (all) this.all = this.nAll++ === 0 ? ms : this.nAll <= WARM ? Math.min(this.all, ms) : this.all + (Math.min(ms, 2 * this.all) - this.all) * 0.2;
    else this.one = this.nOne++ === 0 ? ms : this.nOne <= WARM ? Math.min(this.one, ms) : this.one + (Math.min(ms, 2 * this.one) - this.one) * 0.2;
    if (this.nOne >= WARM && this.nAll >= WARM) {
      if (this.useAll ? this.one < this.all * SWITCH : this.all < this.one * SWITCH) this.useAll = !this.useAll;
    }
  }
}
