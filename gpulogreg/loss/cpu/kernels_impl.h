/* The kernels for one dtype T (double or float), names FN(x) = x_f64 / x_f32; included twice
 * by kernels.c. Arrays are C-contiguous: X (n, d); y, s (n,) of X's dtype (s may be NULL:
 * unit weights); coefficients of X's dtype. Each worker returns 0, or -1 when it could not
 * allocate its scratch (the caller raises MemoryError). */

/* z[i] = X[i] . w + b for `rows` rows, in T; four rows at a time (four independent sums in
 * flight, one load of w for four products) */
INLINE void FN(matvec)(const T *X, i64 rows, i64 d, const T *w, T b, T *z) {
    i64 i = 0;
    for (; i + 4 <= rows; i += 4) {
        const T *x0 = X + i * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
        T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
        for (i64 j = 0; j < d; j++) {
            T wj = w[j];
            a0 += x0[j] * wj;
            a1 += x1[j] * wj;
            a2 += x2[j] * wj;
            a3 += x3[j] * wj;
        }
        z[i] = a0 + b, z[i + 1] = a1 + b, z[i + 2] = a2 + b, z[i + 3] = a3 + b;
    }
    for (; i < rows; i++) {
        const T *x = X + i * d;
        T acc = 0;
#pragma omp simd reduction(+ : acc)
        for (i64 j = 0; j < d; j++) acc += x[j] * w[j];
        z[i] = acc + b;
    }
}

/* g += X[0:rows]^T r, four rows at a time: one load and store of g for four products */
INLINE void FN(rank1)(const T *X, i64 rows, i64 d, const T *r, T *g) {
    i64 i = 0;
    for (; i + 4 <= rows; i += 4) {
        const T *x0 = X + i * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
        T r0 = r[i], r1 = r[i + 1], r2 = r[i + 2], r3 = r[i + 3];
#pragma omp simd
        for (i64 j = 0; j < d; j++) g[j] += r0 * x0[j] + r1 * x1[j] + r2 * x2[j] + r3 * x3[j];
    }
    for (; i < rows; i++) {
        const T *x = X + i * d;
        T ri = r[i];
#pragma omp simd
        for (i64 j = 0; j < d; j++) g[j] += ri * x[j];
    }
}

/* Z[i, c0 + c] = X[i] . Wt[c0 + c] + b[c0 + c] for c < nc (a constant after inlining: the
 * accumulators stay in registers) */
INLINE void FN(dots)(const T *x, i64 d, const T *Wt, const T *b, i64 c0, const int nc, T *z) {
    const T *w0 = Wt + c0 * d, *w1 = nc > 1 ? w0 + d : w0, *w2 = nc > 2 ? w0 + 2 * d : w0,
            *w3 = nc > 3 ? w0 + 3 * d : w0;
    T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
    for (i64 j = 0; j < d; j++) {
        T xj = x[j];
        a0 += xj * w0[j];
        if (nc > 1) a1 += xj * w1[j];
        if (nc > 2) a2 += xj * w2[j];
        if (nc > 3) a3 += xj * w3[j];
    }
    z[c0] = a0 + b[c0];
    if (nc > 1) z[c0 + 1] = a1 + b[c0 + 1];
    if (nc > 2) z[c0 + 2] = a2 + b[c0 + 2];
    if (nc > 3) z[c0 + 3] = a3 + b[c0 + 3];
}

/* Z[i, c] = X[i] . Wt[c] + b[c] (Z row stride ldz), four classes at a time: one load of
 * X[i, j] for four products; the last 1-3 classes as one group too */
INLINE void FN(matvecs)(const T *X, i64 rows, i64 d, const T *Wt, const T *b, i64 k, T *Z,
                        i64 ldz) {
    for (i64 i = 0; i < rows; i++) {
        const T *x = X + i * d;
        T *z = Z + i * ldz;
        i64 c = 0;
        for (; c + 4 <= k; c += 4) FN(dots)(x, d, Wt, b, c, 4, z);
        switch (k - c) {
            case 3: FN(dots)(x, d, Wt, b, c, 3, z); break;
            case 2: FN(dots)(x, d, Wt, b, c, 2, z); break;
            case 1: FN(dots)(x, d, Wt, b, c, 1, z); break;
            default: break;
        }
    }
}

/* Gt[c] += X[0:rows]^T R[:, c] for every class c (R row stride ldr): a small GEMM, blocked so
 * that a tile of (up to) 4 classes x RK_J columns of Gt stays in registers (8 vectors) over a
 * block of RK_I rows: per row, RK_J / width loads of X and 4 of R feed 4 RK_J / width FMAs;
 * the tiles of one column block reuse the rows' segment from L1, and Gt is loaded and stored
 * once per row block. nc and nj are constants after inlining (the switches below). */
#define RK_J (64 / (i64)sizeof(T)) /* 8 doubles or 16 floats: two AVX2 vectors */
#define RK_I 64
INLINE void FN(rank_tile)(const T *X, i64 i0, i64 i1, i64 d, i64 j0, const T *R, i64 ldr,
                          i64 c0, const int nc, const int full, T *Gt) {
    T acc[4][RK_J];
    memset(acc, 0, sizeof(acc));
    i64 nj = full ? RK_J : d - j0;
    for (i64 i = i0; i < i1; i++) {
        const T *x = X + i * d + j0, *r = R + i * ldr + c0;
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
            T rc = r[c];
            if (full) {
#pragma omp simd
                for (int j = 0; j < RK_J; j++) acc[c][j] += rc * x[j];
            } else {
                for (i64 j = 0; j < nj; j++) acc[c][j] += rc * x[j];
            }
        }
    }
    for (int c = 0; c < nc; c++)
        for (i64 j = 0; j < nj; j++) Gt[(c0 + c) * d + j0 + j] += acc[c][j];
}

INLINE void FN(rank_k)(const T *X, i64 rows, i64 d, const T *R, i64 ldr, i64 k, T *Gt) {
    for (i64 i0 = 0; i0 < rows; i0 += RK_I) {
        i64 i1 = rows - i0 < RK_I ? rows : i0 + RK_I;
        for (i64 j0 = 0; j0 < d; j0 += RK_J) {
            int full = d - j0 >= RK_J;
            for (i64 c0 = 0; c0 < k; c0 += 4) {
#define TILE(nc) (full ? FN(rank_tile)(X, i0, i1, d, j0, R, ldr, c0, nc, 1, Gt) \
                       : FN(rank_tile)(X, i0, i1, d, j0, R, ldr, c0, nc, 0, Gt))
                switch (k - c0 < 4 ? k - c0 : 4) {
                    case 4: TILE(4); break;
                    case 3: TILE(3); break;
                    case 2: TILE(2); break;
                    default: TILE(1); break;
                }
#undef TILE
            }
        }
    }
}
#undef RK_I
#undef RK_J

/* E = exp(-|z|), L = log1p(E) of m scores, in double */
INLINE void FN(tails)(const T *z, i64 m, double *E, double *L) {
    for (i64 i = 0; i < m; i++) E[i] = exp_nonpositive(-fabs((double)z[i]));
    for (i64 i = 0; i < m; i++) L[i] = log1p_unit(E[i]);
}

/* The binomial row step: from scores r (overwritten by the residuals s (sigma(z) - y), in
 * T), E = exp(-|z|) and L = log1p(E) (overwritten by the losses s (log(1 + e^z) - y z));
 * with p_out, s q (1 - q) there. Weights w may be NULL (unit). */
INLINE void FN(residual)(T *r, const T *y, const T *w, double *E, double *L, T *p_out,
                         i64 m) {
    for (i64 i = 0; i < m; i++) { /* no stores under a condition: the loop vectorises */
        double z = (double)r[i], yi = (double)y[i], e = E[i];
        double q = e / (1.0 + e);
        double ri = z >= 0 ? (1.0 - yi) - q : q - yi;
        double li = (z > 0 ? z : 0.0) - yi * z + L[i];
        double si = w ? (double)w[i] : 1.0;
        r[i] = (T)(ri * si);
        L[i] = li * si;
    }
    if (p_out)
        for (i64 i = 0; i < m; i++) {
            double q = E[i] / (1.0 + E[i]);
            p_out[i] = (T)(q * (1.0 - q) * (w ? (double)w[i] : 1.0));
        }
}

INLINE double FN(total)(const T *a, i64 m) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (i64 i = 0; i < m; i++) acc += (double)a[i];
    return acc;
}

INLINE double FN(total64)(const double *a, i64 m) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (i64 i = 0; i < m; i++) acc += a[i];
    return acc;
}

/* ---- binomial ------------------------------------------------------------------------ */

/* one chunk: out = [X^T r (d), sum r, sum l] */
WIDE static void FN(loss_gradient_chunk)(const T *X, i64 rows, i64 d, const T *y, const T *s,
                                         const T *w, T b, T *p_out, double *out, T *r,
                                         double *E, double *L, T *g) {
    FN(matvec)(X, rows, d, w, b, r);
    FN(tails)(r, rows, E, L);
    FN(residual)(r, y, s, E, L, p_out, rows);
    memset(g, 0, (size_t)d * sizeof(T));
    FN(rank1)(X, rows, d, r, g);
    for (i64 j = 0; j < d; j++) out[j] = (double)g[j];
    out[d] = FN(total)(r, rows);
    out[d + 1] = FN(total64)(L, rows);
}

EXPORT int FN(loss_gradient)(const T *X, i64 n, i64 d, const T *y, const T *s, const T *w, T b,
                      T *p_out, i64 chunk, i64 *counter, double *part) {
    i64 n_chunks = (n + chunk - 1) / chunk;
    T *r = scratch((size_t)chunk * sizeof(T)), *g = scratch((size_t)d * sizeof(T));
    double *E = scratch((size_t)chunk * sizeof(double)), *L = scratch((size_t)chunk * sizeof(double));
    int rc = (r && g && E && L) ? 0 : -1;
    for (i64 c; rc == 0 && (c = next_chunk(counter)) < n_chunks;) {
        i64 lo = c * chunk, rows = (n - lo < chunk) ? n - lo : chunk;
        FN(loss_gradient_chunk)(X + lo * d, rows, d, y + lo, s ? s + lo : NULL, w, b,
                                p_out ? p_out + lo : NULL, part + c * (d + 2), r, E, L, g);
    }
    free(r), free(g), free(E), free(L);
    return rc;
}

/* one chunk: out = [X^T t (d), sum t], t = p (X v + v_b) */
WIDE static void FN(hessp_chunk)(const T *X, i64 rows, i64 d, const T *p, const T *v, T v_b,
                                 double *out, T *t, T *g) {
    FN(matvec)(X, rows, d, v, v_b, t);
    for (i64 i = 0; i < rows; i++) t[i] *= p[i];
    memset(g, 0, (size_t)d * sizeof(T));
    FN(rank1)(X, rows, d, t, g);
    for (i64 j = 0; j < d; j++) out[j] = (double)g[j];
    out[d] = FN(total)(t, rows);
}

EXPORT int FN(hessp)(const T *X, i64 n, i64 d, const T *p, const T *v, T v_b, i64 chunk,
              i64 *counter, double *part) {
    i64 n_chunks = (n + chunk - 1) / chunk;
    T *t = scratch((size_t)chunk * sizeof(T)), *g = scratch((size_t)d * sizeof(T));
    int rc = (t && g) ? 0 : -1;
    for (i64 c; rc == 0 && (c = next_chunk(counter)) < n_chunks;) {
        i64 lo = c * chunk, rows = (n - lo < chunk) ? n - lo : chunk;
        FN(hessp_chunk)(X + lo * d, rows, d, p + lo, v, v_b, part + c * (d + 1), t, g);
    }
    free(t), free(g);
    return rc;
}

/* ---- multinomial --------------------------------------------------------------------- */

/* one chunk: out = [Gt raveled (k d), sum of R per class (k), loss]; the arithmetic of
 * models.Multinomial.residual_and_loss row by row, in double */
WIDE static void FN(multinomial_chunk)(const T *X, i64 rows, i64 d, const T *y, const T *s,
                                       const T *Wt, const T *b, i64 k, T *P_out, double *out,
                                       T *Z, double *D, double *E, T *Gt) {
    FN(matvecs)(X, rows, d, Wt, b, k, Z, k);
    for (i64 i = 0; i < rows; i++) { /* z - max (<= 0); the top class gets exp = 0 below */
        const T *zi = Z + i * k;
        i64 top = 0;
        double m = (double)zi[0];
        for (i64 c = 1; c < k; c++)
            if ((double)zi[c] > m) m = (double)zi[c], top = c;
        for (i64 c = 0; c < k; c++) D[i * k + c] = (double)zi[c] - m;
        D[i * k + top] = -1400.0;
    }
    for (i64 t = 0; t < rows * k; t++) E[t] = exp_nonpositive(D[t]);
    double *sum_r = out + k * d, loss = 0.0;
    for (i64 c = 0; c < k; c++) sum_r[c] = 0.0;
    for (i64 i = 0; i < rows; i++) {
        T *zi = Z + i * k;
        const double *e = E + i * k;
        double m = (double)zi[0]; /* the top class and max, found as above */
        i64 top = 0;
        for (i64 c = 1; c < k; c++)
            if ((double)zi[c] > m) m = (double)zi[c], top = c;
        double others = 0.0;
        for (i64 c = 0; c < k; c++) others += e[c];
        double denom = 1.0 + others;
        i64 label = (i64)y[i];
        double si = s ? (double)s[i] : 1.0;
        loss += si * ((m - (double)zi[label]) + log1p(others));
        for (i64 c = 0; c < k; c++) {
            double pc = c == top ? 1.0 / denom : e[c] / denom;
            if (P_out) P_out[i * k + c] = (T)pc;
            double rc = c == label ? (label == top ? -others / denom : pc - 1.0) : pc;
            zi[c] = (T)(si * rc);
            sum_r[c] += (double)zi[c];
        }
    }
    memset(Gt, 0, (size_t)(k * d) * sizeof(T));
    FN(rank_k)(X, rows, d, Z, k, k, Gt);
    for (i64 t = 0; t < k * d; t++) out[t] = (double)Gt[t];
    out[k * d + k] = loss;
}

EXPORT int FN(multinomial_loss_gradient)(const T *X, i64 n, i64 d, const T *y, const T *s,
                                  const T *Wt, const T *b, i64 k, T *P_out, i64 chunk,
                                  i64 *counter, double *part) {
    i64 n_chunks = (n + chunk - 1) / chunk, m = chunk * k;
    T *Z = scratch((size_t)m * sizeof(T)), *Gt = scratch((size_t)(k * d) * sizeof(T));
    double *D = scratch((size_t)m * sizeof(double)), *E = scratch((size_t)m * sizeof(double));
    int rc = (Z && Gt && D && E) ? 0 : -1;
    for (i64 c; rc == 0 && (c = next_chunk(counter)) < n_chunks;) {
        i64 lo = c * chunk, rows = (n - lo < chunk) ? n - lo : chunk;
        FN(multinomial_chunk)(X + lo * d, rows, d, y + lo, s ? s + lo : NULL, Wt, b, k,
                              P_out ? P_out + lo * k : NULL, part + c * (k * d + k + 1), Z, D,
                              E, Gt);
    }
    free(Z), free(Gt), free(D), free(E);
    return rc;
}

/* one chunk: out = [Gt raveled (k d), sum of U per class (k)], U = s (P T - P (P . T)),
 * T = X V + v_b */
WIDE static void FN(multinomial_hessp_chunk)(const T *X, i64 rows, i64 d, const T *P,
                                             const T *s, const T *Vt, const T *v_b, i64 k,
                                             double *out, T *Tm, T *Gt) {
    FN(matvecs)(X, rows, d, Vt, v_b, k, Tm, k);
    double *sum_u = out + k * d;
    for (i64 c = 0; c < k; c++) sum_u[c] = 0.0;
    for (i64 i = 0; i < rows; i++) {
        T *ti = Tm + i * k;
        const T *pi = P + i * k;
        double dot = 0.0;
        for (i64 c = 0; c < k; c++) {
            ti[c] = pi[c] * ti[c];
            dot += (double)ti[c];
        }
        double si = s ? (double)s[i] : 1.0;
        for (i64 c = 0; c < k; c++) {
            ti[c] = (T)(si * ((double)ti[c] - (double)pi[c] * dot));
            sum_u[c] += (double)ti[c];
        }
    }
    memset(Gt, 0, (size_t)(k * d) * sizeof(T));
    FN(rank_k)(X, rows, d, Tm, k, k, Gt);
    for (i64 t = 0; t < k * d; t++) out[t] = (double)Gt[t];
}

EXPORT int FN(multinomial_hessp)(const T *X, i64 n, i64 d, const T *P, const T *s, const T *Vt,
                          const T *v_b, i64 k, i64 chunk, i64 *counter, double *part) {
    i64 n_chunks = (n + chunk - 1) / chunk;
    T *Tm = scratch((size_t)(chunk * k) * sizeof(T)), *Gt = scratch((size_t)(k * d) * sizeof(T));
    int rc = (Tm && Gt) ? 0 : -1;
    for (i64 c; rc == 0 && (c = next_chunk(counter)) < n_chunks;) {
        i64 lo = c * chunk, rows = (n - lo < chunk) ? n - lo : chunk;
        FN(multinomial_hessp_chunk)(X + lo * d, rows, d, P + lo * k, s ? s + lo : NULL, Vt,
                                    v_b, k, part + c * (k * d + k), Tm, Gt);
    }
    free(Tm), free(Gt);
    return rc;
}

/* ---- a binomial model batch (loss.batch_pass.BatchPass) ------------------------------- */

/* The elementwise step for a chunk of `rows` rows, a problem (row of ZT, (cols, rows)) at a
 * time: problem j's row i has weight s[i] * masks[folds[j], mask_lo + i]. Writes RT[j], the
 * weighted residuals of the n_g gradient problems (0 off a problem's training rows), then
 * p t of the n_p products; adds each gradient problem's loss sum to acc[j]. */
INLINE void FN(batch_columns)(T *ZT, double *E, double *L, const T *y, const T *s,
                              const uint8_t *masks, i64 mask_ld, i64 mask_lo, const i64 *folds,
                              i64 n_g, i64 n_p, i64 rows, T *RT, double *acc, T *weights) {
    FN(tails)(ZT, (n_g + n_p) * rows, E, L); /* the directions' rows need no tails */
    for (i64 j = 0; j < n_g; j++) {
        const uint8_t *mask = masks + folds[j] * mask_ld + mask_lo;
        for (i64 i = 0; i < rows; i++) {
            weights[i] = mask[i] ? (s ? s[i] : (T)1) : (T)0;
            RT[j * rows + i] = ZT[j * rows + i];
        }
        FN(residual)(RT + j * rows, y, weights, E + j * rows, L + j * rows, NULL, rows);
        acc[j] += FN(total64)(L + j * rows, rows);
    }
    for (i64 j = 0; j < n_p; j++) {
        const uint8_t *mask = masks + folds[n_g + j] * mask_ld + mask_lo;
        const double *e = E + (n_g + j) * rows;
        const T *t = ZT + (n_g + n_p + j) * rows;
        for (i64 i = 0; i < rows; i++) {
            double wi = mask[i] ? (s ? (double)s[i] : 1.0) : 0.0;
            double q = e[i] / (1.0 + e[i]);
            RT[(n_g + j) * rows + i] = (T)(wi * q * (1.0 - q) * (double)t[i]);
        }
    }
}

/* The whole pass for a group of consecutive chunks: out = [G^T raveled (n_out d), sum R per
 * column (n_out), losses (n_g)], n_out = n_g + n_p, cols = n_g + 2 n_p columns in Vt */
WIDE static void FN(batch_group)(const T *X, i64 n, i64 d, const T *y, const T *s,
                                 const uint8_t *masks, i64 mask_ld, const i64 *folds,
                                 const T *Vt, const T *vb, i64 n_g, i64 n_p, i64 chunk,
                                 i64 c_lo, i64 c_hi, double *out, T *ZT, T *Z, double *E,
                                 double *L, T *RT, T *R, T *Gc, T *weights) {
    i64 cols = n_g + 2 * n_p, n_out = n_g + n_p;
    double *G = out, *sums = out + n_out * d, *acc = sums + n_out;
    memset(out, 0, (size_t)(n_out * d + n_out + n_g) * sizeof(double));
    for (i64 c = c_lo; c < c_hi; c++) {
        i64 lo = c * chunk, rows = (n - lo < chunk) ? n - lo : chunk;
        const T *Xc = X + lo * d;
        FN(matvecs)(Xc, rows, d, Vt, vb, cols, Z, cols);
        for (i64 i = 0; i < rows; i++) /* columns by rows: the row loops vectorise */
            for (i64 j = 0; j < cols; j++) ZT[j * rows + i] = Z[i * cols + j];
        FN(batch_columns)(ZT, E, L, y + lo, s ? s + lo : NULL, masks, mask_ld, lo, folds, n_g,
                          n_p, rows, RT, acc, weights);
        for (i64 j = 0; j < n_out; j++) sums[j] += FN(total)(RT + j * rows, rows);
        for (i64 i = 0; i < rows; i++)
            for (i64 j = 0; j < n_out; j++) R[i * n_out + j] = RT[j * rows + i];
        memset(Gc, 0, (size_t)(n_out * d) * sizeof(T));
        FN(rank_k)(Xc, rows, d, R, n_out, n_out, Gc);
        for (i64 t = 0; t < n_out * d; t++) G[t] += (double)Gc[t];
    }
}

EXPORT int FN(batch_pass)(const T *X, i64 n, i64 d, const T *y, const T *s, const uint8_t *masks,
                   i64 mask_ld, const i64 *folds, const T *Vt, const T *vb, i64 n_g, i64 n_p,
                   i64 chunk, i64 n_groups, i64 *counter, double *part) {
    i64 cols = n_g + 2 * n_p, n_out = n_g + n_p, m = chunk * cols;
    i64 n_chunks = (n + chunk - 1) / chunk, per_group = (n_chunks + n_groups - 1) / n_groups;
    T *ZT = scratch((size_t)m * sizeof(T)), *Z = scratch((size_t)m * sizeof(T));
    T *RT = scratch((size_t)m * sizeof(T)), *R = scratch((size_t)m * sizeof(T));
    T *Gc = scratch((size_t)(n_out * d + 1) * sizeof(T)), *wt = scratch((size_t)chunk * sizeof(T));
    double *E = scratch((size_t)m * sizeof(double)), *L = scratch((size_t)m * sizeof(double));
    int rc = (ZT && Z && RT && R && Gc && wt && E && L) ? 0 : -1;
    for (i64 g; rc == 0 && (g = next_chunk(counter)) < n_groups;) {
        i64 c_lo = g * per_group, c_hi = c_lo + per_group < n_chunks ? c_lo + per_group : n_chunks;
        FN(batch_group)(X, n, d, y, s, masks, mask_ld, folds, Vt, vb, n_g, n_p, chunk, c_lo,
                        c_hi, part + g * (n_out * d + n_out + n_g), ZT, Z, E, L, RT, R, Gc, wt);
    }
    free(ZT), free(Z), free(RT), free(R), free(Gc), free(wt), free(E), free(L);
    return rc;
}

/* The elementwise step alone, for a piece of b rows whose scores Z (b, cols) BLAS formed
 * (an X that is not C-contiguous); writes R (b, n_out) and each chunk's n_g loss sums to
 * its row of part. Rows of the piece start at row0 of the masks. */
WIDE static void FN(batch_step_chunk)(const T *Z, i64 rows, i64 cols, const T *y, const T *s,
                                      const uint8_t *masks, i64 mask_ld, i64 mask_lo,
                                      const i64 *folds, i64 n_g, i64 n_p, T *R, double *out,
                                      T *ZT, double *E, double *L, T *RT, T *weights) {
    i64 n_out = n_g + n_p;
    for (i64 i = 0; i < rows; i++)
        for (i64 j = 0; j < cols; j++) ZT[j * rows + i] = Z[i * cols + j];
    for (i64 j = 0; j < n_g; j++) out[j] = 0.0;
    FN(batch_columns)(ZT, E, L, y, s, masks, mask_ld, mask_lo, folds, n_g, n_p, rows, RT, out,
                      weights);
    for (i64 i = 0; i < rows; i++)
        for (i64 j = 0; j < n_out; j++) R[i * n_out + j] = RT[j * rows + i];
}

EXPORT int FN(batch_step)(const T *Z, i64 b, i64 cols, const T *y, const T *s, const uint8_t *masks,
                   i64 mask_ld, i64 row0, const i64 *folds, i64 n_g, i64 n_p, T *R, i64 chunk,
                   i64 *counter, double *part) {
    i64 n_chunks = (b + chunk - 1) / chunk, m = chunk * cols, n_out = n_g + n_p;
    T *ZT = scratch((size_t)m * sizeof(T)), *RT = scratch((size_t)m * sizeof(T));
    T *wt = scratch((size_t)chunk * sizeof(T));
    double *E = scratch((size_t)m * sizeof(double)), *L = scratch((size_t)m * sizeof(double));
    int rc = (ZT && RT && wt && E && L) ? 0 : -1;
    for (i64 c; rc == 0 && (c = next_chunk(counter)) < n_chunks;) {
        i64 lo = c * chunk, rows = (b - lo < chunk) ? b - lo : chunk;
        FN(batch_step_chunk)(Z + lo * cols, rows, cols, y + lo, s ? s + lo : NULL, masks,
                             mask_ld, row0 + lo, folds, n_g, n_p, R + lo * n_out,
                             part + c * n_g, ZT, E, L, RT, wt);
    }
    free(ZT), free(RT), free(wt), free(E), free(L);
    return rc;
}

/* ---- the weighted Gram matrix of the Hessian (passes.GradientHessian) ------------------ */

/* One group of chunks: out = [X^T diag(w) X (d x d, upper triangle filled), X^T w (d),
 * sum w], in double. Four rows at a time, so each entry of H is loaded and stored once per
 * four rows' products; the loop over a row of H vectorises. */
WIDE static void FN(gram_group)(const T *X, i64 lo, i64 hi, i64 d, const T *w, double *out) {
    double *H = out, *xw = out + d * d;
    memset(out, 0, (size_t)(d * d + d + 1) * sizeof(double));
    i64 i = lo;
    for (; i + 4 <= hi; i += 4) {
        const T *x0 = X + i * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
        double w0 = (double)w[i], w1 = (double)w[i + 1], w2 = (double)w[i + 2],
               w3 = (double)w[i + 3];
        for (i64 a = 0; a < d; a++) {
            double c0 = w0 * (double)x0[a], c1 = w1 * (double)x1[a], c2 = w2 * (double)x2[a],
                   c3 = w3 * (double)x3[a];
            double *h = H + a * d;
#pragma omp simd
            for (i64 b = a; b < d; b++)
                h[b] += c0 * (double)x0[b] + c1 * (double)x1[b] + c2 * (double)x2[b] +
                        c3 * (double)x3[b];
            xw[a] += c0 + c1 + c2 + c3;
        }
        out[d * d + d] += (w0 + w1) + (w2 + w3);
    }
    for (; i < hi; i++) {
        const T *x = X + i * d;
        double wi = (double)w[i];
        for (i64 a = 0; a < d; a++) {
            double c = wi * (double)x[a];
            double *h = H + a * d;
#pragma omp simd
            for (i64 b = a; b < d; b++) h[b] += c * (double)x[b];
            xw[a] += c;
        }
        out[d * d + d] += wi;
    }
}

EXPORT int FN(gram)(const T *X, i64 n, i64 d, const T *w, i64 n_groups, i64 *counter,
                    double *part) {
    i64 per_group = (n + n_groups - 1) / n_groups;
    for (i64 g; (g = next_chunk(counter)) < n_groups;) {
        i64 lo = g * per_group, hi = lo + per_group < n ? lo + per_group : n;
        FN(gram_group)(X, lo < n ? lo : n, hi, d, w, part + g * (d * d + d + 1));
    }
    return 0;
}
