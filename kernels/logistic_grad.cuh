// The one-pass logistic passes (DESIGN.md section 4), written as phases.
//
// Each block walks tiles of ONE_PASS_TILE rows (tile b, b + G, b + 2G, ... for block b of a
// grid of G blocks). For a tile it
//   dot:        forms the rows' scores x_i . v, each row split over ONE_PASS_SLICES threads
//               (thread t: row t / SLICES, columns t % SLICES + SLICES j), partials to shared;
//   residual:   adds a row's partials in a fixed order, applies the fused per-row step
//               (loss + gradient: r = s (sigmoid(z) - y), the loss term, optionally the
//               curvature p = s sigma (1 - sigma); Hessian product: q = p (x . v + v_b)),
//               and keeps the row's r (or q) in shared memory;
//   accumulate: adds r_i x_i to the block's gradient in shared memory, thread t owning the
//               columns t, t + BLOCK, ... (the tile's rows are read again, from cache);
// and at the end writes the block's partial sums [grad (d), sum r, sum loss] to its own row
// of `part`, which the caller adds up in a fixed order. No atomics: for a given grid the
// result is bitwise reproducible. X is read from memory once.
//
// Every phase is a __host__ __device__ function of (arguments, block or tile, thread,
// shared memory) that writes only what its thread owns and reads others' work only from
// earlier phases: the device kernel calls them with __syncthreads() between, and the host
// harness (tests/kernel_host_check.cu) runs them over a simulated grid, block by block,
// phase by phase, thread by thread, on the same shared-memory layout (DESIGN.md 3b).
// Sums are accumulated in double whatever the dtype of X.
#ifndef GPULOGREG_LOGISTIC_GRAD_CUH
#define GPULOGREG_LOGISTIC_GRAD_CUH

#include "logreg_math.cuh"

namespace gpulogreg {

constexpr int ONE_PASS_BLOCK = 256;  // threads per block
constexpr int ONE_PASS_SLICES = 8;   // threads per row in the dot phase
constexpr int ONE_PASS_TILE = ONE_PASS_BLOCK / ONE_PASS_SLICES;  // rows per tile
// Doubles of shared memory per block beside grad[d] (see OnePassShared below)
constexpr int ONE_PASS_SHARED_FIXED = ONE_PASS_TILE * ONE_PASS_SLICES + ONE_PASS_TILE
                                      + 2 * ONE_PASS_BLOCK;
// Widest X the kernels take: (d + ONE_PASS_SHARED_FIXED) doubles per block stay under the
// 48 KB a block gets without opting in (39 KB at 4096); wider X stays on cuBLAS, whose
// GEMVs read X at full bandwidth there (DESIGN.md section 4). The launcher reads these
// constants from this file (gpulogreg/loss/cuda.py), so they are written here only.
constexpr int ONE_PASS_MAX_FEATURES = 4096;

enum OnePassMode { LOSS_GRADIENT = 0, HESSIAN_PRODUCT = 1 };

template <typename T>
struct OnePassArgs {
    const T* X;        // n x d, C order (row i at X + i * d)
    long long n;
    int d;
    const double* v;   // d + 1 coefficients, [w, b] (loss + gradient) or the direction
                       // [v, v_b] (product): the intercept read on the device, no host sync
    const T* y;        // labels 0/1 (LOSS_GRADIENT)
    const T* s;        // weights in [0, 1] (LOSS_GRADIENT, has_s)
    int has_s;
    const T* p;        // curvature per row, weights included (HESSIAN_PRODUCT)
    T* p_out;          // curvature per row to store (LOSS_GRADIENT, has_p_out)
    int has_p_out;
    int mode;
    double* part;      // G x (d + 2) partial sums
};

// The block's shared memory, as offsets into one buffer of doubles:
//   grad[d] | dot[TILE][SLICES] | r[TILE] | loss[BLOCK] | rsum[BLOCK]
struct OnePassShared {
    double* grad;
    double* dot;
    double* r;
    double* loss;
    double* rsum;
};

__host__ __device__ inline long long one_pass_shared_doubles(int d) {
    return (long long)d + ONE_PASS_SHARED_FIXED;
}

__host__ __device__ inline OnePassShared one_pass_layout(double* base, int d) {
    OnePassShared sh;
    sh.grad = base;
    sh.dot = sh.grad + d;
    sh.r = sh.dot + ONE_PASS_TILE * ONE_PASS_SLICES;
    sh.loss = sh.r + ONE_PASS_TILE;
    sh.rsum = sh.loss + ONE_PASS_BLOCK;
    return sh;
}

__host__ __device__ inline long long one_pass_tiles(long long n) {
    return (n + ONE_PASS_TILE - 1) / ONE_PASS_TILE;
}

template <typename T>
__host__ __device__ inline void phase_init(const OnePassArgs<T>& a, int t, OnePassShared sh) {
    for (int j = t; j < a.d; j += ONE_PASS_BLOCK) sh.grad[j] = 0.0;
    sh.loss[t] = 0.0;
    sh.rsum[t] = 0.0;
}

template <typename T>
__host__ __device__ inline void phase_dot(const OnePassArgs<T>& a, long long tile, int t,
                                          OnePassShared sh) {
    const int i = t / ONE_PASS_SLICES, c = t % ONE_PASS_SLICES;
    const long long row = tile * ONE_PASS_TILE + i;
    double acc = 0.0;
    if (row < a.n) {
        const T* x = a.X + row * a.d;
        for (int j = c; j < a.d; j += ONE_PASS_SLICES) acc += (double)x[j] * a.v[j];
    }
    sh.dot[i * ONE_PASS_SLICES + c] = acc;
}

template <typename T>
__host__ __device__ inline void phase_residual(const OnePassArgs<T>& a, long long tile, int t,
                                               OnePassShared sh) {
    if (t >= ONE_PASS_TILE) return;
    const long long row = tile * ONE_PASS_TILE + t;
    if (row >= a.n) {
        sh.r[t] = 0.0;
        return;
    }
    double score = a.v[a.d];
    for (int c = 0; c < ONE_PASS_SLICES; ++c) score += sh.dot[t * ONE_PASS_SLICES + c];
    double r;
    if (a.mode == HESSIAN_PRODUCT) {
        r = (double)a.p[row] * score;
    } else {
        // the per-row step in X's dtype, as the two-pass path computes it
        const T z = (T)score;
        const T s = a.has_s ? a.s[row] : T(1);
        T rt, lt;
        residual_and_loss(z, a.y[row], s, &rt, &lt);
        if (a.has_p_out) a.p_out[row] = s * curvature_term(z);
        r = (double)rt;
        sh.loss[t] += (double)lt;
    }
    sh.r[t] = r;
    sh.rsum[t] += r;
}

template <typename T>
__host__ __device__ inline void phase_accumulate(const OnePassArgs<T>& a, long long tile, int t,
                                                 OnePassShared sh) {
    const long long first = tile * ONE_PASS_TILE;
    const int rows = a.n - first < ONE_PASS_TILE ? (int)(a.n - first) : ONE_PASS_TILE;
    for (int j = t; j < a.d; j += ONE_PASS_BLOCK) {
        double acc = sh.grad[j];
        const T* x = a.X + first * a.d + j;
        for (int i = 0; i < rows; ++i) acc += sh.r[i] * (double)x[(long long)i * a.d];
        sh.grad[j] = acc;
    }
}

template <typename T>
__host__ __device__ inline void phase_write(const OnePassArgs<T>& a, long long block, int t,
                                            OnePassShared sh) {
    double* out = a.part + block * (a.d + 2);
    for (int j = t; j < a.d; j += ONE_PASS_BLOCK) out[j] = sh.grad[j];
    if (t == 0) {
        double rsum = 0.0, loss = 0.0;
        for (int u = 0; u < ONE_PASS_BLOCK; ++u) {
            rsum += sh.rsum[u];
            loss += sh.loss[u];
        }
        out[a.d] = rsum;
        out[a.d + 1] = loss;
    }
}

}  // namespace gpulogreg

#endif  // GPULOGREG_LOGISTIC_GRAD_CUH
