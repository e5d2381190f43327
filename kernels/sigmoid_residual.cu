// Fused elementwise step of the logistic gradient:
//     r[i] = s[i] * (sigmoid(z[i]) - y[i])
//     l[i] = s[i] * (log(1 + exp(z[i])) - y[i] z[i])
// with s[i] = 1 when has_weight == 0 (then `s` is never read).
// One read of z, y (and s), one write of r and l: the step is memory-bound.
#include "logreg_math.cuh"

template <typename T>
__device__ inline void sigmoid_residual_body(const T* __restrict__ z, const T* __restrict__ y,
                                             const T* __restrict__ s, int has_weight,
                                             T* __restrict__ r, T* __restrict__ l,
                                             long long n) {
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const T w = has_weight ? s[i] : T(1);
        gpulogreg::residual_and_loss(z[i], y[i], w, &r[i], &l[i]);
    }
}

extern "C" __global__ void gpulogreg_sigmoid_residual_f32(
    const float* __restrict__ z, const float* __restrict__ y, const float* __restrict__ s,
    int has_weight, float* __restrict__ r, float* __restrict__ l, long long n) {
    sigmoid_residual_body(z, y, s, has_weight, r, l, n);
}

extern "C" __global__ void gpulogreg_sigmoid_residual_f64(
    const double* __restrict__ z, const double* __restrict__ y, const double* __restrict__ s,
    int has_weight, double* __restrict__ r, double* __restrict__ l, long long n) {
    sigmoid_residual_body(z, y, s, has_weight, r, l, n);
}
