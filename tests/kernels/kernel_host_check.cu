// Host driver for tests/test_kernels.py: runs the kernels' per-element math
// (kernels/logreg_math.cuh) on the CPU, float32 results computed from the inputs rounded
// to float32.
//   kernel_host_check           reads "z y s" triples, prints "r32 l32 r64 l64" per line
//   kernel_host_check softmax   reads "k label s z_0 .. z_{k-1}" rows, prints
//                               "r32[0..k) l32 r64[0..k) l64 p64[0..k)" per line
//   kernel_host_check one_pass  runs the phases of kernels/logistic_grad.cuh over a
//                               simulated grid (see one_pass below)
#include <cstdio>
#include <cstring>
#include <vector>

#include "logistic_grad.cuh"
#include "logreg_math.cuh"

// The device kernel's schedule on the CPU: for each block, every phase for every thread
// before the next phase (what __syncthreads() guarantees), on one block's shared memory.
template <typename T>
static void run_grid(const gpulogreg::OnePassArgs<T>& a, long long grid) {
    using namespace gpulogreg;
    std::vector<double> shared(one_pass_shared_doubles(a.d));
    const OnePassShared sh = one_pass_layout(shared.data(), a.d);
    const long long tiles = one_pass_tiles(a.n);
    for (long long block = 0; block < grid; ++block) {
        for (int t = 0; t < ONE_PASS_BLOCK; ++t) phase_init(a, t, sh);
        for (long long tile = block; tile < tiles; tile += grid) {
            for (int t = 0; t < ONE_PASS_BLOCK; ++t) phase_dot(a, tile, t, sh);
            for (int t = 0; t < ONE_PASS_BLOCK; ++t) phase_residual(a, tile, t, sh);
            for (int t = 0; t < ONE_PASS_BLOCK; ++t) phase_accumulate(a, tile, t, sh);
        }
        for (int t = 0; t < ONE_PASS_BLOCK; ++t) phase_write(a, block, t, sh);
    }
}

// Reads "mode bits n d grid has_s has_p_out", then X (n*d, row-major), y (n), s (n),
// v (d + 1, the intercept last), p (n); values are rounded to float32 first for bits 32. Prints the grid's partial
// sums, one block per line (d + 2 numbers), then with has_p_out one line of p_out.
template <typename T>
static int one_pass_typed(int mode, long long n, int d, long long grid, int has_s,
                          int has_p_out) {
    std::vector<T> X(n * d), y(n), s(n), p(n), p_out(n);
    std::vector<double> v(d + 1), part(grid * (d + 2));
    double value;
    for (auto* vec : {&X, &y, &s}) {
        for (auto& x : *vec) {
            if (std::scanf("%lf", &value) != 1) return 1;
            x = (T)value;
        }
    }
    for (auto& x : v) {
        if (std::scanf("%lf", &x) != 1) return 1;
    }
    for (auto& x : p) {
        if (std::scanf("%lf", &value) != 1) return 1;
        x = (T)value;
    }
    gpulogreg::OnePassArgs<T> a{X.data(), n, d, v.data(), y.data(), s.data(), has_s,
                                p.data(), p_out.data(), has_p_out, mode, part.data()};
    run_grid(a, grid);
    for (long long b = 0; b < grid; ++b) {
        for (int j = 0; j < d + 2; ++j) std::printf(j ? " %.17g" : "%.17g", part[b * (d + 2) + j]);
        std::printf("\n");
    }
    if (has_p_out) {
        for (long long i = 0; i < n; ++i) std::printf(i ? " %.17g" : "%.17g", (double)p_out[i]);
        std::printf("\n");
    }
    return 0;
}

static int one_pass() {
    int mode, bits, d, has_s, has_p_out;
    long long n, grid;
    if (std::scanf("%d %d %lld %d %lld %d %d", &mode, &bits, &n, &d, &grid, &has_s,
                   &has_p_out) != 7)
        return 1;
    return bits == 32 ? one_pass_typed<float>(mode, n, d, grid, has_s, has_p_out)
                      : one_pass_typed<double>(mode, n, d, grid, has_s, has_p_out);
}

static int softmax_rows() {
    int k, label;
    double s;
    while (std::scanf("%d %d %lf", &k, &label, &s) == 3) {
        if (k < 1 || k > 64) return 1;
        double z64[64], r64[64], p64[64], l64, l32;
        float z32[64], r32[64], p32[64];
        for (int c = 0; c < k; ++c) {
            if (std::scanf("%lf", &z64[c]) != 1) return 1;
            z32[c] = (float)z64[c];
        }
        gpulogreg::softmax_residual_and_loss<float>(z32, k, label, (float)s, r32, p32, &l32);
        gpulogreg::softmax_residual_and_loss<double>(z64, k, label, s, r64, p64, &l64);
        for (int c = 0; c < k; ++c) std::printf("%.9g ", r32[c]);
        std::printf("%.17g ", l32);
        for (int c = 0; c < k; ++c) std::printf("%.17g ", r64[c]);
        std::printf("%.17g", l64);
        for (int c = 0; c < k; ++c) std::printf(" %.17g", p64[c]);
        std::printf("\n");
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "softmax") == 0) return softmax_rows();
    if (argc > 1 && std::strcmp(argv[1], "one_pass") == 0) return one_pass();
    double z, y, s;
    while (std::scanf("%lf %lf %lf", &z, &y, &s) == 3) {
        float r32, l32;
        double r64, l64;
        gpulogreg::residual_and_loss<float>((float)z, (float)y, (float)s, &r32, &l32);
        gpulogreg::residual_and_loss<double>(z, y, s, &r64, &l64);
        std::printf("%.9g %.9g %.17g %.17g\n", r32, l32, r64, l64);
    }
    return 0;
}
