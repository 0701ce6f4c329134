// Own f32 matMul for tfjs-backend-wasm, run on tfjs's own linear memory (src/backend/simd-matmul.ts).
// Why: at this project's shapes ([2016,128]x[128,384] and the like) it runs 1.3-1.75x XNNPACK's speed
// (docs/perf/kernel-spikes.md) with the same bits: accumulators start from the bias and add a·b one k
// at a time, in XNNPACK's order. No libc, no static data, no shadow stack: the module imports tfjs's
// memory and writes only where the offsets it is given point. Build: scripts/build-simd-kernels.sh.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

// Rows of A per block: MB·K floats of A stay in L2 while every 8-column panel of B (K·8 floats, L1)
// sweeps over them.
#define MB 96

// B packed into 8-column panels (K·8 contiguous floats each), zero-padded past N.
static void pack_b(int K, int N, int NR, const float *b, float *work) {
  for (int j = 0; j < N; j += NR)
    for (int k = 0; k < K; k++)
      for (int jj = 0; jj < NR; jj++) *work++ = j + jj < N ? b[k * N + j + jj] : 0.0f;
}

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

TILE_LOADSPLAT(1, 8)
TILE_LOADSPLAT(4, 8)

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

// C[M,N] = A[M,K] · B[K,N] (+ bias[N]); work: K·Np + Np floats, Np = roundup(N, 8).
EXPORT("sgemm") void sgemm(int M, int N, int K, const float *a, const float *b, float *c, float *work,
                           const float *bias) {
  float *panels = pack_bias(N, 8, bias, work);
  pack_b(K, N, 8, b, panels);
  SGEMM_BLOCKS(4, 8, tile_ls_4x8, tile_ls_1x8)
}

// C[M,N] = A[M,K] · Bᵀ with B given as [N,K] (the backward pass's dy · Wᵀ): the transpose is folded
// into the packing, no separate transpose op.
static void pack_bt(int K, int N, int NR, const float *bt, float *work) {
  for (int j = 0; j < N; j += NR)
    for (int k = 0; k < K; k++)
      for (int jj = 0; jj < NR; jj++) *work++ = j + jj < N ? bt[(j + jj) * K + k] : 0.0f;
}
EXPORT("sgemm_bt") void sgemm_bt(int M, int N, int K, const float *a, const float *bt, float *c,
                                 float *work, const float *bias) {
  float *panels = pack_bias(N, 8, bias, work);
  pack_bt(K, N, 8, bt, panels);
  SGEMM_BLOCKS(4, 8, tile_ls_4x8, tile_ls_1x8)
}
