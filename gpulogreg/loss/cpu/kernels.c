/* The compiled CPU passes of gpulogreg, built at install time (setup.py); see __init__.py.
 *
 * Plain C99, no OpenMP: every kernel is a *worker*. The caller (Python, through ctypes,
 * which releases the GIL) runs one worker per thread of its budget; workers take chunks of
 * rows from a shared atomic counter, so a thread on a busy core simply takes fewer chunks,
 * and write each chunk's partial sums to a row of their own in `part`. The caller adds the
 * rows in a fixed order: results do not depend on the number of threads or their timing.
 *
 * Per chunk, X is read from memory once: z = X w + b for the chunk's rows, the per-row
 * math, then X^T r from cache. Products are accumulated in X's dtype within a chunk (as the
 * NumPy path's BLAS does), per-row math in double, IEEE (no -ffast-math).
 *
 * Speed follows from the design, not from one machine: the per-row math (exp, log1p) is
 * written without calls or branches, so its loops vectorise; the dot products use
 * `omp simd` reductions (-fopenmp-simd: vector width, no runtime); every function that does
 * the work is compiled three times (GCC's target_clones: x86-64-v4 = AVX-512, v3 = AVX2 +
 * FMA, and the baseline), the widest the running CPU supports chosen when the library loads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t i64;

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && \
    defined(__linux__) && !defined(GPULOGREG_NO_CLONES)
#define WIDE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define WIDE_CLONES 1
#else
#define WIDE
#endif
#define INLINE static inline __attribute__((always_inline))
#define EXPORT __attribute__((visibility("default")))

static i64 next_chunk(i64 *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

/* a worker's scratch (never malloc(0), which may return NULL: d or k may be tiny) */
static void *scratch(size_t bytes) { return malloc(bytes ? bytes : 1); }

/* ---- per-row math: no calls, no branches (selects only), so that loops vectorise ----- */

#define LOG2E 1.4426950408889634
#define LN2_HI 6.93147180369123816490e-01 /* ln 2 in two parts (fdlibm's) */
#define LN2_LO 1.90821492927058770002e-10
#define SQRT2 1.4142135623730951
#define TWO52 4503599627370496.0
#define ROUNDER 6755399441055744.0 /* 1.5 * 2^52: x + ROUNDER - ROUNDER rounds x to an integer */

INLINE double from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
INLINE uint64_t to_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }

/* 2^m for an integer-valued m in [-1022, 1023], from its bits (64-bit integer adds and
 * shifts only: AVX2 has them) */
INLINE double pow2(double m) { return from_bits((to_bits(m + 1023.0 + TWO52) - to_bits(TWO52)) << 52); }

/* exp(x) for x <= 0, within 1 ulp of libm's: x = k ln2 + r, |r| <= ln2 / 2, exp(r) by its
 * Taylor polynomial to degree 13 (truncation below 2^-60), 2^k as two powers of two so that
 * the subnormals are reached as exp reaches them */
INLINE double exp_nonpositive(double x) {
    static const double c[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720,
                                 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800,
                                 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800};
    x = x < -1400.0 ? -1400.0 : x; /* exp underflows to 0 long before; keeps the bits valid */
    double k = (x * LOG2E + ROUNDER) - ROUNDER; /* no floor(): a libm call where inexact */
    double r = (x - k * LN2_HI) - k * LN2_LO;     /* may trap, which keeps loops scalar */
    double p = c[13];
#pragma GCC unroll 16
    for (int j = 12; j >= 0; j--) p = p * r + c[j];
    double half = (k * 0.5 + ROUNDER) - ROUNDER;
    return p * pow2(half) * pow2(k - half);
}

/* log1p(e) for 0 <= e <= 1, within a few ulp of libm's: u = 1 + e halved above sqrt(2),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), and the rounding of 1 + e corrected
 * (log1p(e) = log(u) e / (u - 1), u - 1 exact) */
INLINE double log1p_unit(double e) {
    static const double c[12] = {2.0 / 1, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11,
                                 2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23};
    double u = 1.0 + e;
    double k = u > SQRT2 ? 1.0 : 0.0;
    double m = u > SQRT2 ? u * 0.5 : u;
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double q = c[11];
#pragma GCC unroll 16
    for (int j = 10; j >= 0; j--) q = q * s2 + c[j];
    double log_u = (k * LN2_HI + s * q) + k * LN2_LO;
    double d = u - 1.0;
    double ratio = e / (d != 0.0 ? d : 1.0);
    return d != 0.0 ? log_u * ratio : e;
}

/* ---- the kernels, once per dtype (kernels_impl.h) ------------------------------------ */

#define T double
#define FN(name) name##_f64
#include "kernels_impl.h"
#undef T
#undef FN

#define T float
#define FN(name) name##_f32
#include "kernels_impl.h"
#undef T
#undef FN

/* Python loads this file with ctypes (``__init__._library``); being importable as a module
 * lets ``import`` find the file wherever the install put it. */
static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "kernels",
    .m_doc = "gpulogreg's compiled CPU passes (loaded with ctypes)", .m_size = -1};

PyMODINIT_FUNC PyInit_kernels(void) { return PyModule_Create(&module); }

/* Which of the clones this CPU runs, for the demo's status line. */
EXPORT const char *gpulogreg_isa(void) {
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
#if defined(WIDE_CLONES)
    if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2, FMA)";
    return "x86-64 baseline";
#endif
#endif
    return "portable C";
}
