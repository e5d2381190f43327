// One-pass loss + gradient and Hessian-vector product of the binomial model (DESIGN.md
// section 4): X is read once. The work is the phases of logistic_grad.cuh, called here with
// barriers between them; the host harness of the tests runs the same phases on the CPU.
//
// Launch: ONE_PASS_BLOCK threads per block, one_pass_shared_doubles(d) * 8 bytes of dynamic
// shared memory, any number of blocks G (each walks tiles b, b + G, ...); the coefficients
// (or the direction) are d + 1 doubles, the intercept last (0 without one); `part` has G
// rows of d + 2 doubles: [grad or product (d), sum of r (intercept), sum of losses].
#include "logistic_grad.cuh"

template <typename T>
__device__ void one_pass_body(const gpulogreg::OnePassArgs<T>& a) {
    extern __shared__ double gpulogreg_one_pass_shared[];
    const gpulogreg::OnePassShared sh =
        gpulogreg::one_pass_layout(gpulogreg_one_pass_shared, a.d);
    const int t = threadIdx.x;
    gpulogreg::phase_init(a, t, sh);
    __syncthreads();
    const long long tiles = gpulogreg::one_pass_tiles(a.n);
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        gpulogreg::phase_dot(a, tile, t, sh);
        __syncthreads();
        gpulogreg::phase_residual(a, tile, t, sh);
        __syncthreads();
        gpulogreg::phase_accumulate(a, tile, t, sh);
        __syncthreads();
    }
    gpulogreg::phase_write(a, (long long)blockIdx.x, t, sh);
}

template <typename T>
__device__ void loss_gradient_entry(const T* X, long long n, int d, const double* w,
                                    const T* y, const T* s, int has_s, T* p_out,
                                    int has_p_out, double* part) {
    gpulogreg::OnePassArgs<T> a{X, n, d, w, y, s, has_s, nullptr, p_out, has_p_out,
                                gpulogreg::LOSS_GRADIENT, part};
    one_pass_body(a);
}

template <typename T>
__device__ void hessp_entry(const T* X, long long n, int d, const double* v,
                            const T* p, double* part) {
    gpulogreg::OnePassArgs<T> a{X, n, d, v, nullptr, nullptr, 0, p, nullptr, 0,
                                gpulogreg::HESSIAN_PRODUCT, part};
    one_pass_body(a);
}

extern "C" __global__ void __launch_bounds__(gpulogreg::ONE_PASS_BLOCK)
gpulogreg_logistic_grad_f32(const float* X, long long n, int d, const double* w,
                            const float* y, const float* s, int has_s, float* p_out,
                            int has_p_out, double* part) {
    loss_gradient_entry(X, n, d, w, y, s, has_s, p_out, has_p_out, part);
}

extern "C" __global__ void __launch_bounds__(gpulogreg::ONE_PASS_BLOCK)
gpulogreg_logistic_grad_f64(const double* X, long long n, int d, const double* w,
                            const double* y, const double* s, int has_s, double* p_out,
                            int has_p_out, double* part) {
    loss_gradient_entry(X, n, d, w, y, s, has_s, p_out, has_p_out, part);
}

extern "C" __global__ void __launch_bounds__(gpulogreg::ONE_PASS_BLOCK)
gpulogreg_logistic_hessp_f32(const float* X, long long n, int d, const double* v,
                             const float* p, double* part) {
    hessp_entry(X, n, d, v, p, part);
}

extern "C" __global__ void __launch_bounds__(gpulogreg::ONE_PASS_BLOCK)
gpulogreg_logistic_hessp_f64(const double* X, long long n, int d, const double* v,
                             const double* p, double* part) {
    hessp_entry(X, n, d, v, p, part);
}
