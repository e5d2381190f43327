// Host driver for tests/test_kernels.py: runs the kernels' per-element math
// (kernels/logreg_math.cuh) on the CPU, float32 results computed from the inputs rounded
// to float32.
//   kernel_host_check           reads "z y s" triples, prints "r32 l32 r64 l64" per line
//   kernel_host_check softmax   reads "k label s z_0 .. z_{k-1}" rows, prints
//                               "r32[0..k) l32 r64[0..k) l64 p64[0..k)" per line
#include <cstdio>
#include <cstring>

#include "logreg_math.cuh"

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
