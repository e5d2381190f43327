// Host driver for tests/test_kernels.py: runs the kernels' per-element math
// (kernels/logreg_math.cuh) on the CPU. Reads "z y s" triples from stdin and
// prints "r32 l32 r64 l64" per line, float32 results computed from the inputs
// rounded to float32.
#include <cstdio>

#include "logreg_math.cuh"

int main() {
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
