// Fused elementwise step of the multinomial gradient, one thread per row of Z (n x k,
// C-contiguous):
//     R[i, c] = s[i] * (softmax(Z[i])[c] - [c == y[i]])
//     l[i]    = s[i] * (log sum_c exp(Z[i, c]) - Z[i, y[i]])      (double for both dtypes)
//     P[i, c] = softmax(Z[i])[c]                                  (only when write_p != 0)
// with s[i] = 1 when has_weight == 0 (then `s` is never read); y holds class indices as
// numbers of Z's dtype. One read of Z, y (and s), one write of R, l (and P): memory-bound.
#include "logreg_math.cuh"

template <typename T>
__device__ inline void softmax_residual_body(const T* __restrict__ Z, const T* __restrict__ y,
                                             const T* __restrict__ s, int has_weight,
                                             T* __restrict__ R, double* __restrict__ l,
                                             T* __restrict__ P, int write_p, long long n,
                                             int k) {
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const T w = has_weight ? s[i] : T(1);
        const long long row = i * (long long)k;
        gpulogreg::softmax_residual_and_loss(Z + row, k, (int)y[i], w, R + row,
                                             write_p ? P + row : (T*)0, &l[i]);
    }
}

extern "C" __global__ void gpulogreg_softmax_residual_f32(
    const float* __restrict__ Z, const float* __restrict__ y, const float* __restrict__ s,
    int has_weight, float* __restrict__ R, double* __restrict__ l, float* __restrict__ P,
    int write_p, long long n, int k) {
    softmax_residual_body(Z, y, s, has_weight, R, l, P, write_p, n, k);
}

extern "C" __global__ void gpulogreg_softmax_residual_f64(
    const double* __restrict__ Z, const double* __restrict__ y, const double* __restrict__ s,
    int has_weight, double* __restrict__ R, double* __restrict__ l, double* __restrict__ P,
    int write_p, long long n, int k) {
    softmax_residual_body(Z, y, s, has_weight, R, l, P, write_p, n, k);
}
