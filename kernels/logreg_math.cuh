// Per-element logistic math shared by every gpulogreg kernel.
//
// Everything here is __host__ __device__ so that the tests can build a host
// executable from this very header with nvcc and check the arithmetic against
// NumPy without a GPU (DESIGN.md section 3b).
//
// Stability: only exp(-|z|) is ever evaluated, so nothing overflows for any
// finite z, and log(sigmoid) is never taken.
#ifndef GPULOGREG_LOGREG_MATH_CUH
#define GPULOGREG_LOGREG_MATH_CUH

#ifndef __CUDACC_RTC__
#include <math.h>
#endif

namespace gpulogreg {

__host__ __device__ inline float gl_exp(float x) { return expf(x); }
__host__ __device__ inline double gl_exp(double x) { return exp(x); }
__host__ __device__ inline float gl_log1p(float x) { return log1pf(x); }
__host__ __device__ inline double gl_log1p(double x) { return log1p(x); }
__host__ __device__ inline float gl_abs(float x) { return fabsf(x); }
__host__ __device__ inline double gl_abs(double x) { return fabs(x); }

// sigmoid(z) - y for a label y in {0, 1}, without cancellation:
// with e = exp(-|z|) and q = e / (1 + e), sigmoid(z) = 1 - q for z >= 0 and q for z < 0.
template <typename T>
__host__ __device__ inline T sigmoid_minus_label(T z, T y, T e) {
    const T q = e / (T(1) + e);
    return z >= T(0) ? (T(1) - y) - q : q - y;
}

// log(1 + exp(z)) - y z  =  max(z, 0) - y z + log1p(exp(-|z|)), finite for finite z.
template <typename T>
__host__ __device__ inline T logistic_loss_term(T z, T y, T e) {
    return ((z > T(0) ? z : T(0)) - y * z) + gl_log1p(e);
}

// The curvature sigma(z) (1 - sigma(z)) = q (1 - q), with q = e / (1 + e) as above (the
// product is symmetric in z, so the same q serves both signs).
template <typename T>
__host__ __device__ inline T curvature_term(T z) {
    const T e = gl_exp(-gl_abs(z));
    const T q = e / (T(1) + e);
    return q * (T(1) - q);
}

// Both at once from one exp: r = s (sigmoid(z) - y), l = s (log(1 + e^z) - y z).
// The weight s must be in [0, 1]: gpulogreg rescales sample weights to a maximum of 1 (and C
// by the same factor) before any pass, so |s l| <= |l| stays finite in float32 even where
// |z| is near the float32 maximum (a weight of 2 there would overflow the product).
template <typename T>
__host__ __device__ inline void residual_and_loss(T z, T y, T s, T* r, T* l) {
    const T e = gl_exp(-gl_abs(z));
    *r = s * sigmoid_minus_label(z, y, e);
    *l = s * logistic_loss_term(z, y, e);
}

// One row of the multinomial (softmax) model over k classes, from the row's scores z[0..k-1]
// and its class index `label`:
//     p[c] = softmax(z)[c],  r[c] = s (p[c] - [c == label]),  l = s (log sum_c e^{z_c} - z_label)
// With t the first argmax and o = sum_{c != t} exp(z_c - z_t) (only exponentials of
// non-positive numbers): p[t] = 1 / (1 + o), l = (z_t - z_label) + log1p(o), and the true
// class's residual is -o / (1 + o) when label == t (else p - 1 with p <= 1/2): no
// cancellation, nothing overflows. l is double whatever T: z_t - z_label can be twice the
// float32 maximum. p may be null (not wanted). s must be in [0, 1], as for the binary model.
template <typename T>
__host__ __device__ inline void softmax_residual_and_loss(const T* z, int k, int label, T s,
                                                          T* r, T* p, double* l) {
    int top = 0;
    T m = z[0];
    for (int c = 1; c < k; ++c) {
        if (z[c] > m) {
            m = z[c];
            top = c;
        }
    }
    T others = T(0);
    for (int c = 0; c < k; ++c) {
        if (c != top) others += gl_exp(z[c] - m);
    }
    const T denom = T(1) + others;
    for (int c = 0; c < k; ++c) {
        const T pc = c == top ? T(1) / denom : gl_exp(z[c] - m) / denom;
        if (p) p[c] = pc;
        const T rc = c != label ? pc : (label == top ? -others / denom : pc - T(1));
        r[c] = s * rc;
    }
    *l = (double)s * (((double)m - (double)z[label]) + (double)gl_log1p(others));
}

}  // namespace gpulogreg

#endif  // GPULOGREG_LOGREG_MATH_CUH
