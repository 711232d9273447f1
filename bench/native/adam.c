// Native peers for bench/index.js: PyTorch AdamW / Adam (L2) in plain C, and a loop that only moves
// AdamW's memory traffic (4 reads, 3 writes per parameter, no math), the physical bound of any Adam step.
// Built at bench time with `cc -O3 -march=native -fno-math-errno` (bench/native.js).
//
// The Adam loops follow the op sequence of golden/seed/README.md ("Exact op sequences", A-H): scalars
// in float64, rounded once to float32; one float32 op per stage. The compiler is left free to contract
// a*b+c into FMAs (GCC's default -ffp-contract=fast), so results agree with fused-adam's exact mode to
// within the golden README's tight bound rather than bit for bit; the driver reports which.
//
// Protocol (one process per case, driven over stdin/stdout):
//   adam <adamw|adaml2|traffic> <in.bin> <out.bin> <maxNorm> <resetEvery>
//   in.bin:  u32 count, u32 size[count], f64 lr, b1, b2, eps, wd, t0, then the regions P, G, M, V,
//            each holding every tensor padded to 16 floats (fused-adam's arena layout).
//   maxNorm > 0 turns on torch clip_grad_norm_ over all tensors before each step. Every resetEvery
//   steps the weights and moments go back to the input, as in every peer (bench/cases.js, RESET_EVERY).
//   The process takes one step (step t0+1) from in.bin, writes P, M, V to out.bin, prints "ready", then
//   waits for "time <maxSeconds> <minSamples>" (prints one JSON line with ns per step) or "quit".
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  double lr, b1, b2, eps, wd, t0, maxNorm;
} Hyper;

static uint32_t count;
static uint32_t *sizes;
static size_t *offsets;
static size_t total; // floats per region
static float *P, *G, *M, *V, *P0, *M0, *V0;
static long resetEvery, sinceReset;

// Scalars of one step, rounded as torch 1.13 rounds them (golden README, A-H).
typedef struct {
  float S, R, B1, C1, B2, C2, E, WD, DEC, clip;
} Scalars;

static Scalars scalars(const Hyper *h, double t, float clip) {
  Scalars s;
  const double bc1 = 1.0 - pow(h->b1, t), bc2 = 1.0 - pow(h->b2, t);
  s.S = (float)(-(h->lr / bc1));
  s.R = (float)sqrt(bc2);
  s.B1 = (float)h->b1;
  s.C1 = (float)(1.0 - h->b1);
  s.B2 = (float)h->b2;
  s.C2 = (float)(1.0 - h->b2);
  s.E = (float)h->eps;
  s.WD = (float)h->wd;
  s.DEC = (float)(1.0 - h->lr * h->wd);
  s.clip = clip;
  return s;
}

// torch.optim.AdamW (_single_tensor_adamw): p *= 1-lr*wd, then Adam on the raw gradient.
static void adamw(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                  Scalars s) {
  for (size_t i = 0; i < n; i++) {
    float gi = g[i] * s.clip;
    float pi = p[i] * s.DEC;
    float mi = m[i] * s.B1;
    mi = mi + s.C1 * gi;
    float vi = v[i] * s.B2;
    vi = vi + (s.C2 * gi) * gi;
    m[i] = mi;
    v[i] = vi;
    float den = sqrtf(vi) / s.R + s.E;
    p[i] = pi + (s.S * mi) / den;
  }
}

// torch.optim.Adam with weight_decay (_single_tensor_adam): g += wd*p, then Adam.
static void adaml2(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                   Scalars s) {
  for (size_t i = 0; i < n; i++) {
    float pi = p[i];
    float gi = g[i] * s.clip;
    gi = gi + s.WD * pi;
    float mi = m[i] * s.B1;
    mi = mi + s.C1 * gi;
    float vi = v[i] * s.B2;
    vi = vi + (s.C2 * gi) * gi;
    m[i] = mi;
    v[i] = vi;
    float den = sqrtf(vi) / s.R + s.E;
    p[i] = pi + (s.S * mi) / den;
  }
}

// AdamW's memory traffic without its math: reads p, g, m, v and writes p, m, v in one pass. The xor keeps
// every read live; a permutation of the inputs (checked by the driver) shows the loop really ran. Loop
// distribution is off for this function: GCC -O3 would otherwise split it into an xor loop and two
// memcpy calls, three passes over memory instead of one (measured 1.6x slower at 16M params).
__attribute__((optimize("no-tree-loop-distribution", "no-tree-loop-distribute-patterns")))
static void traffic(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n) {
  uint32_t *restrict pu = (uint32_t *)p, *restrict mu = (uint32_t *)m, *restrict vu = (uint32_t *)v;
  const uint32_t *restrict gu = (const uint32_t *)g;
  for (size_t i = 0; i < n; i++) {
    uint32_t a = pu[i], b = gu[i], c = mu[i], d = vu[i];
    pu[i] = b;
    mu[i] = a;
    vu[i] = c ^ d;
  }
}

// torch.nn.utils.clip_grad_norm_: total = ||(||g_i||)_i||, coef = min(1, max_norm/(total+1e-6)). The sum of
// squares runs in 16 float lanes per tensor (vectorizable without reassociation), then float64 across.
static float clipCoef(double maxNorm) {
  double sum = 0;
  for (uint32_t k = 0; k < count; k++) {
    const float *g = G + offsets[k];
    size_t n = sizes[k], i = 0;
    float acc[16] = {0};
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) acc[j] += g[i + j] * g[i + j];
    double t = 0;
    for (int j = 0; j < 16; j++) t += acc[j];
    for (; i < n; i++) t += (double)g[i] * g[i];
    sum += t;
  }
  const double c = maxNorm / (sqrt(sum) + 1e-6);
  return c < 1 ? (float)c : 1.0f;
}

static int mode; // 0 adamw, 1 adaml2, 2 traffic

static void step(const Hyper *h, double t) {
  if (mode != 2 && ++sinceReset % resetEvery == 0) {
    memcpy(P, P0, total * 4);
    memcpy(M, M0, total * 4);
    memcpy(V, V0, total * 4);
  }
  if (mode == 2) {
    for (uint32_t k = 0; k < count; k++) traffic(P + offsets[k], G + offsets[k], M + offsets[k], V + offsets[k], sizes[k]);
    return;
  }
  const float clip = h->maxNorm > 0 ? clipCoef(h->maxNorm) : 1.0f;
  const Scalars s = scalars(h, t, clip);
  for (uint32_t k = 0; k < count; k++) {
    if (mode == 0) adamw(P + offsets[k], G + offsets[k], M + offsets[k], V + offsets[k], sizes[k], s);
    else adaml2(P + offsets[k], G + offsets[k], M + offsets[k], V + offsets[k], sizes[k], s);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "adam: %s\n", what);
  exit(2);
}

static void readAll(FILE *f, void *dst, size_t bytes) {
  if (fread(dst, 1, bytes, f) != bytes) die("short read of the input file");
}

static void writeAll(FILE *f, const void *src, size_t bytes) {
  if (fwrite(src, 1, bytes, f) != bytes) die("short write of the output file");
}

int main(int argc, char **argv) {
  if (argc != 6) die("usage: adam <adamw|adaml2|traffic> <in.bin> <out.bin> <maxNorm> <resetEvery>");
  if (!strcmp(argv[1], "adamw")) mode = 0;
  else if (!strcmp(argv[1], "adaml2")) mode = 1;
  else if (!strcmp(argv[1], "traffic")) mode = 2;
  else die("mode must be adamw, adaml2 or traffic");

  FILE *in = fopen(argv[2], "rb");
  if (!in) die("cannot open the input file");
  readAll(in, &count, 4);
  sizes = malloc(count * sizeof *sizes);
  offsets = malloc(count * sizeof *offsets);
  readAll(in, sizes, count * 4);
  Hyper h;
  readAll(in, &h, 6 * sizeof(double));
  h.maxNorm = atof(argv[4]);
  resetEvery = atol(argv[5]);
  if (resetEvery < 1) die("resetEvery must be >= 1");
  total = 0;
  for (uint32_t k = 0; k < count; k++) {
    offsets[k] = total;
    total += (sizes[k] + 15) / 16 * 16;
  }
  const size_t bytes = total * 4 ? total * 4 : 64;
  float **regions[4] = {&P, &G, &M, &V};
  for (int r = 0; r < 4; r++) {
    *regions[r] = aligned_alloc(64, bytes);
    if (!*regions[r]) die("out of memory");
    readAll(in, *regions[r], total * 4);
  }
  fclose(in);
  if (mode != 2) {
    float **saved[3] = {&P0, &M0, &V0};
    const float *from[3] = {P, M, V};
    for (int r = 0; r < 3; r++) {
      *saved[r] = aligned_alloc(64, bytes);
      if (!*saved[r]) die("out of memory");
      memcpy(*saved[r], from[r], total * 4);
    }
  }

  step(&h, h.t0 + 1);

  FILE *out = fopen(argv[3], "wb");
  if (!out) die("cannot open the output file");
  writeAll(out, P, total * 4);
  writeAll(out, M, total * 4);
  writeAll(out, V, total * 4);
  fclose(out);
  printf("ready\n");
  fflush(stdout);

  char line[256];
  double t = h.t0 + 1;
  while (fgets(line, sizeof line, stdin)) {
    double maxTime;
    int minSamples;
    if (sscanf(line, "time %lf %d", &maxTime, &minSamples) != 2) break;
    // Calibrate: enough steps per sample for 20 ms, at least one.
    double t1 = now();
    step(&h, ++t);
    double one = now() - t1;
    long reps = one > 0.02 ? 1 : (long)(0.02 / (one > 1e-9 ? one : 1e-9)) + 1;
    double sum = 0, sumsq = 0, start = now();
    int samples = 0;
    while (samples < minSamples || now() - start < maxTime) {
      double a = now();
      for (long r = 0; r < reps; r++) step(&h, ++t);
      double per = (now() - a) / reps;
      sum += per;
      sumsq += per * per;
      samples++;
    }
    double mean = sum / samples;
    double var = samples > 1 ? (sumsq - samples * mean * mean) / (samples - 1) : 0;
    printf("{\"nsPerStep\":%.3f,\"samples\":%d,\"stepsPerSample\":%ld,\"sdNs\":%.3f}\n", mean * 1e9, samples, reps,
           (var > 0 ? sqrt(var) : 0) * 1e9);
    fflush(stdout);
  }
  return 0;
}
