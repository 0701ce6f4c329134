// Spike 2 (issue 12): own wasm SIMD kernels, run on tfjs-backend-wasm's own linear memory.
// No libc, no static data and no shadow-stack use: the module imports tfjs's memory and must only
// write where the pointers it is given point. Build: see scripts/spikes/build-kernels.sh.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

// ---- sgemm: C[M,N] = A[M,K] · B[K,N], row-major f32 ---------------------------------------------

// 6x8 register tile: 12 accumulators + 2 B vectors + 1 broadcast = 15 of x86-64's 16 xmm registers.
static inline void tile6x8(int K, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  v128_t c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda,
              *a5 = a + 5 * lda;
  for (int k = 0; k < K; k++) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    b += ldb;
    v128_t x;
    x = wasm_v128_load32_splat(a0 + k);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a1 + k);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a2 + k);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a3 + k);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a4 + k);
    c40 = wasm_f32x4_add(c40, wasm_f32x4_mul(x, b0));
    c41 = wasm_f32x4_add(c41, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a5 + k);
    c50 = wasm_f32x4_add(c50, wasm_f32x4_mul(x, b0));
    c51 = wasm_f32x4_add(c51, wasm_f32x4_mul(x, b1));
  }
  wasm_v128_store(c, c00), wasm_v128_store(c + 4, c01), c += ldc;
  wasm_v128_store(c, c10), wasm_v128_store(c + 4, c11), c += ldc;
  wasm_v128_store(c, c20), wasm_v128_store(c + 4, c21), c += ldc;
  wasm_v128_store(c, c30), wasm_v128_store(c + 4, c31), c += ldc;
  wasm_v128_store(c, c40), wasm_v128_store(c + 4, c41), c += ldc;
  wasm_v128_store(c, c50), wasm_v128_store(c + 4, c51);
}

// 1x8 tile for the rows left over when M is not a multiple of 6.
static inline void tile1x8(int K, const float *a, const float *b, int ldb, float *c) {
  v128_t c0 = wasm_f32x4_splat(0), c1 = c0;
  for (int k = 0; k < K; k++, b += ldb) {
    const v128_t x = wasm_v128_load32_splat(a + k);
    c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(x, wasm_v128_load(b)));
    c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(x, wasm_v128_load(b + 4)));
  }
  wasm_v128_store(c, c0), wasm_v128_store(c + 4, c1);
}

// Columns left over when N is not a multiple of 8: scalar.
static void cols_scalar(int M, int K, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                        int j0, int j1) {
  for (int i = 0; i < M; i++)
    for (int j = j0; j < j1; j++) {
      float s = 0;
      for (int k = 0; k < K; k++) s += a[i * lda + k] * b[k * ldb + j];
      c[i * ldc + j] = s;
    }
}

// Rows of A per block: MB·K floats of A stay in L2 while every 8-column panel of B (K·8 floats, L1)
// sweeps over them.
#define MB 96

EXPORT("sgemm") void sgemm(int M, int N, int K, const float *a, const float *b, float *c) {
  const int N8 = N & ~7;
  for (int i0 = 0; i0 < M; i0 += MB) {
    const int i1 = i0 + MB < M ? i0 + MB : M;
    for (int j = 0; j < N8; j += 8) {
      int i = i0;
      for (; i + 6 <= i1; i += 6) tile6x8(K, a + i * K, K, b + j, N, c + i * N + j, N);
      for (; i < i1; i++) tile1x8(K, a + i * K, b + j, N, c + i * N + j);
    }
  }
  if (N8 < N) cols_scalar(M, K, a, K, b, N, c, N, N8, N);
}

// ---- variants with B packed into NR-column panels (K·NR contiguous floats each) ----------------
// `work` must hold K · roundup(N, NR) floats (the caller allocates it on tfjs's heap).

static void pack_b(int K, int N, int NR, const float *b, float *work) {
  for (int j = 0; j < N; j += NR)
    for (int k = 0; k < K; k++)
      for (int jj = 0; jj < NR; jj++) *work++ = j + jj < N ? b[k * N + j + jj] : 0.0f;
}

// MR x NR tile, "loadsplat": broadcast one A element per row per k. Arrays are fully unrolled into
// registers by clang (-O3: SROA + full unroll of the constant loops).
// Stores the first n (< 4 allowed) lanes of v. No temporary arrays: those would live on a shadow
// stack, i.e. somewhere in tfjs's heap.
static inline void store_lanes(float *c, v128_t v, int n) {
  if (n >= 4) {
    wasm_v128_store(c, v);
    return;
  }
  if (n > 0) c[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) c[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) c[2] = wasm_f32x4_extract_lane(v, 2);
}

#define TILE_LOADSPLAT(MR, NR)                                                                       \
  static inline void tile_ls_##MR##x##NR(int K, const float *a, int lda, const float *bp,            \
                                         const float *bz, float *c, int ldc, int nvalid) {           \
    v128_t acc[MR][NR / 4];                                                                          \
    for (int r = 0; r < MR; r++)                                                                     \
      for (int q = 0; q < NR / 4; q++) acc[r][q] = wasm_v128_load(bz + 4 * q);                       \
    for (int k = 0; k < K; k++, bp += NR) {                                                          \
      v128_t bv[NR / 4];                                                                             \
      for (int q = 0; q < NR / 4; q++) bv[q] = wasm_v128_load(bp + 4 * q);                           \
      for (int r = 0; r < MR; r++) {                                                                 \
        const v128_t x = wasm_v128_load32_splat(a + r * lda + k);                                    \
        for (int q = 0; q < NR / 4; q++) acc[r][q] = wasm_f32x4_add(acc[r][q], wasm_f32x4_mul(x, bv[q])); \
      }                                                                                              \
    }                                                                                                \
    for (int r = 0; r < MR; r++)                                                                     \
      for (int q = 0; q < NR / 4; q++) store_lanes(c + r * ldc + 4 * q, acc[r][q], nvalid - 4 * q);    \
  }

// One k of the splat tile: lane L (a constant, as shuffles need) of each row's 4-k vector.
#define SPLAT_STEP(MR, L)                                                                            \
  {                                                                                                  \
    const v128_t b0 = wasm_v128_load(bp + 8 * L), b1 = wasm_v128_load(bp + 8 * L + 4);               \
    for (int r = 0; r < MR; r++) {                                                                   \
      const v128_t x = wasm_i32x4_shuffle(av[r], av[r], L, L, L, L);                                 \
      acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(x, b0));                                  \
      acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(x, b1));                                  \
    }                                                                                                \
  }

// MR x 8 tile, "splat": one v128 load gets 4 consecutive k of a row, lanes are broadcast by shuffles.
#define TILE_SPLAT(MR)                                                                               \
  static inline void tile_sp_##MR##x8(int K, const float *a, int lda, const float *bp, const float *bz, \
                                      float *c, int ldc, int nvalid) {                               \
    v128_t acc[MR][2];                                                                               \
    for (int r = 0; r < MR; r++) acc[r][0] = wasm_v128_load(bz), acc[r][1] = wasm_v128_load(bz + 4);   \
    int k = 0;                                                                                       \
    for (; k + 4 <= K; k += 4, bp += 32) {                                                           \
      v128_t av[MR];                                                                                 \
      for (int r = 0; r < MR; r++) av[r] = wasm_v128_load(a + r * lda + k);                          \
      SPLAT_STEP(MR, 0) SPLAT_STEP(MR, 1) SPLAT_STEP(MR, 2) SPLAT_STEP(MR, 3)                         \
    }                                                                                                \
    for (; k < K; k++, bp += 8) {                                                                    \
      const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);                             \
      for (int r = 0; r < MR; r++) {                                                                 \
        const v128_t x = wasm_v128_load32_splat(a + r * lda + k);                                    \
        acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(x, b0));                                \
        acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(x, b1));                                \
      }                                                                                              \
    }                                                                                                \
    for (int r = 0; r < MR; r++) {                                                                   \
      store_lanes(c + r * ldc, acc[r][0], nvalid);                                                   \
      store_lanes(c + r * ldc + 4, acc[r][1], nvalid - 4);                                           \
    }                                                                                                \
  }

TILE_LOADSPLAT(1, 8)
TILE_LOADSPLAT(4, 8)
TILE_LOADSPLAT(6, 8)
TILE_LOADSPLAT(1, 16)
TILE_LOADSPLAT(4, 16)
TILE_SPLAT(4)
TILE_SPLAT(6)

// work layout: the bias padded to Np = roundup(N, NR) floats (zeros when bias is 0, i.e. no bias), then
// the packed panels; the accumulators start from the bias, as XNNPACK's do.
static float *pack_bias(int N, int NR, const float *bias, float *work) {
  const int Np = (N + NR - 1) / NR * NR;
  for (int j = 0; j < Np; j++) work[j] = bias && j < N ? bias[j] : 0.0f;
  return work + Np;
}

// Driver: for each block of MB rows, each NR-panel of packed B sweeps over the block.
#define SGEMM_BLOCKS(MR, NR, TILE, TILE1)                                                            \
  for (int i0 = 0; i0 < M; i0 += MB) {                                                               \
    const int i1 = i0 + MB < M ? i0 + MB : M;                                                        \
    for (int j = 0; j < N; j += NR) {                                                                \
      const float *bp = panels + j * K;                                                              \
      const int nv = N - j < NR ? N - j : NR;                                                        \
      int i = i0;                                                                                    \
      for (; i + MR <= i1; i += MR) TILE(K, a + i * K, K, bp, work + j, c + i * N + j, N, nv);       \
      for (; i < i1; i++) TILE1(K, a + i * K, K, bp, work + j, c + i * N + j, N, nv);                \
    }                                                                                                \
  }

// C[M,N] = A[M,K] · B[K,N] (+ bias[N]); work: K·Np + Np floats.
#define SGEMM_PACKED(NAME, MR, NR, TILE, TILE1)                                                     \
  EXPORT(#NAME) void NAME##_fn(int M, int N, int K, const float *a, const float *b, float *c,         \
                              float *work, const float *bias) {                                      \
    float *panels = pack_bias(N, NR, bias, work);                                                    \
    pack_b(K, N, NR, b, panels);                                                                     \
    SGEMM_BLOCKS(MR, NR, TILE, TILE1)                                                                \
  }

SGEMM_PACKED(sgemm_ls4x8, 4, 8, tile_ls_4x8, tile_ls_1x8)

// C[M,N] = A[M,K] · Bᵀ with B given as [N,K] (the backward pass's dy · Wᵀ): the transpose is folded
// into the packing, no separate transpose op.
static void pack_bt(int K, int N, int NR, const float *bt, float *work) {
  for (int j = 0; j < N; j += NR)
    for (int k = 0; k < K; k++)
      for (int jj = 0; jj < NR; jj++) *work++ = j + jj < N ? bt[(j + jj) * K + k] : 0.0f;
}
EXPORT("sgemm_bt_ls4x8") void sgemm_bt_ls4x8(int M, int N, int K, const float *a, const float *bt, float *c,
                                             float *work, const float *bias) {
  float *panels = pack_bias(N, 8, bias, work);
  pack_bt(K, N, 8, bt, panels);
  SGEMM_BLOCKS(4, 8, tile_ls_4x8, tile_ls_1x8)
}
SGEMM_PACKED(sgemm_ls6x8, 6, 8, tile_ls_6x8, tile_ls_1x8)
SGEMM_PACKED(sgemm_ls4x16, 4, 16, tile_ls_4x16, tile_ls_1x16)
SGEMM_PACKED(sgemm_sp4x8, 4, 8, tile_sp_4x8, tile_ls_1x8)
SGEMM_PACKED(sgemm_sp6x8, 6, 8, tile_sp_6x8, tile_ls_1x8)

// ---- fused GELU (sigmoid form) forward: s = σ(1.702·x), y = x·s, in one pass -------------------

// exp(x) for f32x4: x = n·ln2 + r, |r| ≤ ln2/2, degree-6 Taylor/Horner on r, 2^n through the exponent.
static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  const v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, e);
}

EXPORT("gelu_fwd") void gelu_fwd(int n, const float *x, float *y, float *s) {
  const v128_t k = wasm_f32x4_splat(-1.702f), one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    const v128_t sv = wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_mul(xv, k))));
    wasm_v128_store(s + i, sv);
    wasm_v128_store(y + i, wasm_f32x4_mul(xv, sv));
  }
  for (; i < n; i++) {  // tail: same formula, one lane
    const v128_t xv = wasm_f32x4_splat(x[i]);
    const v128_t sv = wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_mul(xv, k))));
    s[i] = wasm_f32x4_extract_lane(sv, 0);
    y[i] = x[i] * s[i];
  }
}

// ---- fused layer norm forward over rows of x [R, D]: xhat, rstd [R] and y = xhat·g + b ----------

EXPORT("layernorm_fwd")
void layernorm_fwd(int R, int D, const float *x, const float *g, const float *b, float eps, float *xhat,
                   float *rstd, float *y) {
  const int D4 = D & ~3;
  for (int r = 0; r < R; r++, x += D, xhat += D, y += D) {
    v128_t acc = wasm_f32x4_splat(0);
    int j = 0;
    for (; j < D4; j += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(x + j));
    float mean = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
                 wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (; j < D; j++) mean += x[j];
    mean /= (float)D;
    const v128_t m = wasm_f32x4_splat(mean);
    acc = wasm_f32x4_splat(0);
    for (j = 0; j < D4; j += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(x + j), m);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, d));
    }
    float var = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
                wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (; j < D; j++) var += (x[j] - mean) * (x[j] - mean);
    var /= (float)D;
    const float rs = 1.0f / __builtin_sqrtf(var + eps);
    rstd[r] = rs;
    const v128_t rv = wasm_f32x4_splat(rs);
    for (j = 0; j < D4; j += 4) {
      const v128_t h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + j), m), rv);
      wasm_v128_store(xhat + j, h);
      wasm_v128_store(y + j, wasm_f32x4_add(wasm_f32x4_mul(h, wasm_v128_load(g + j)), wasm_v128_load(b + j)));
    }
    for (; j < D; j++) {
      xhat[j] = (x[j] - mean) * rs;
      y[j] = xhat[j] * g[j] + b[j];
    }
  }
}
