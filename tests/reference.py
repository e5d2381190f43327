"""An independent float64 NumPy reference for gpulogreg's objective: with z = X w + b and
S = sum(s), the weighted mean logistic loss sum(s (log(1 + e^z) - y z)) / S plus the L2
penalty w.w / (2 C S) (softmax in place of the logistic function for k classes).

Written with different primitives than gpulogreg (``np.logaddexp``, ``scipy.special.expit``)
so that a shared mistake is unlikely.
"""

import numpy as np
from helpers import backend
from scipy.special import expit


def loss_and_gradient(X, y, w, b=0.0, sample_weight=None, C=np.inf, fit_intercept=True):
    """Return (loss, grad) in float64; grad has d (+1 with an intercept) entries."""
    X = backend.to_numpy(X).astype(np.float64)
    y = backend.to_numpy(y).astype(np.float64)
    w = backend.to_numpy(w).astype(np.float64)
    s = (np.ones_like(y) if sample_weight is None
         else backend.to_numpy(sample_weight).astype(np.float64))
    S = s.sum()
    z = X @ w + (b if fit_intercept else 0.0)
    loss = np.sum(s * (np.logaddexp(0.0, z) - y * z)) / S
    if np.isfinite(C):
        loss += w @ w / (2 * C * S)
    r = s * (expit(z) - y)
    grad_w = X.T @ r / S + w / (C * S)
    grad = np.append(grad_w, r.sum() / S) if fit_intercept else grad_w
    return loss, grad


def hessian(X, w, b=0.0, sample_weight=None, C=np.inf, fit_intercept=True):
    """The explicit float64 Hessian, (d+1)x(d+1) with an intercept (its row/column last)."""
    X = backend.to_numpy(X).astype(np.float64)
    w = backend.to_numpy(w).astype(np.float64)
    n, d = X.shape
    s = np.ones(n) if sample_weight is None else backend.to_numpy(sample_weight).astype(np.float64)
    Xa = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X  # fine here: a test reference
    sig = expit(X @ w + (b if fit_intercept else 0.0))
    H = Xa.T @ ((s * sig * (1 - sig))[:, None] * Xa) / s.sum()
    H[np.arange(d), np.arange(d)] += 1 / (C * s.sum())
    return H


def multinomial_loss_and_gradient(X, y, W, b=None, sample_weight=None, C=np.inf):
    """The multinomial objective (scikit-learn's) and its gradient, in float64.

    ``W`` is (d, k), ``b`` (k,) or None (no intercept), ``y`` the class indices. The gradient
    is returned as the (d [+ 1], k) matrix ``[dW; db]``.
    """
    from scipy.special import logsumexp, softmax

    X = backend.to_numpy(X).astype(np.float64)
    y = backend.to_numpy(y).astype(np.intp)
    W = backend.to_numpy(W).astype(np.float64)
    n, k = X.shape[0], W.shape[1]
    s = np.ones(n) if sample_weight is None else backend.to_numpy(sample_weight).astype(np.float64)
    S = s.sum()
    Z = X @ W + (0.0 if b is None else backend.to_numpy(b).astype(np.float64))
    loss = np.sum(s * (logsumexp(Z, axis=1) - Z[np.arange(n), y])) / S
    loss += np.sum(W * W) / (2 * C * S)
    R = s[:, None] * (softmax(Z, axis=1) - np.eye(k)[y])
    grad = X.T @ R / S + W / (C * S)
    if b is not None:
        grad = np.vstack([grad, R.sum(axis=0) / S])
    return loss, grad


def assert_matches(f, g, f_ref, g_ref, dtype):
    """The agreement the loss promises with this reference: float64 rtol 1e-10; float32
    rtol 1e-5 of the loss and 1e-5 of the gradient's norm."""
    if dtype == np.float64:
        np.testing.assert_allclose(f, f_ref, rtol=1e-10)
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-10 * np.linalg.norm(g_ref))
    else:
        np.testing.assert_allclose(f, f_ref, rtol=1e-5)
        assert np.linalg.norm(g - g_ref) <= 1e-5 * max(np.linalg.norm(g_ref), 1.0)


def fitted_vector(model, features=slice(None)):
    """A fitted estimator's coefficients as the solver's vector: ``[w, b]`` for two classes,
    ``[W; b]`` (d+1, k) raveled in C order for k classes (without b if no intercept); only
    the given features' coefficients if ``features`` is given."""
    W = np.asarray(model.coef_, dtype=np.float64)[:, features]
    rows = [W.T] + ([np.asarray(model.intercept_, dtype=np.float64)[None, :]]
                    if model.fit_intercept else [])
    return np.vstack(rows).ravel()


def convexity(H):
    """mu for ``optimum_radius``: half the Hessian's smallest eigenvalue, leaving out the
    directions in which the objective is exactly flat."""
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, dtype=np.float64))
    return eigenvalues[eigenvalues > 1e-10 * eigenvalues[-1]][0] / 2


def optimum_radius(model, X, y, sample_weight=None, *, C, l1_ratio=0.0):
    """How far a fit stopped by ``max|grad| <= g`` (``g = model.grad_max_``; for L1, the
    pseudo-gradient) can be from the exact optimum, in max-norm.

    For an objective that is mu-strongly convex near its optimum x*:
    ``|x - x*|_inf <= |x - x*|_2 <= |grad(x)|_2 / mu <= sqrt(p) g / mu``. mu is taken as
    half the smallest eigenvalue of the exact float64 Hessian at the fit (half: allowing
    the Hessian to change between x and x*); for L1 only the nonzero coefficients count,
    where the objective is smooth while signs agree. Directions in which the objective is
    exactly flat (all multinomial intercepts shifted alike) are left out: no gradient has a
    component there, and the estimator fixes them (intercepts summing to zero). ``g`` also
    covers what the rounding of the computed gradient can hide from the stopping rule.
    Two fits of the same objective are then within the sum of their radii of each other,
    whatever order their sums were rounded in: this is the tolerance the algorithm
    guarantees, on any machine."""
    from gpulogreg.loss.models import for_classes
    from gpulogreg.loss.objective import LogisticLoss

    classes = np.unique(y)
    y_index = np.searchsorted(classes, y).astype(np.float64)
    s = np.ones(len(y_index)) if sample_weight is None else np.asarray(sample_weight, float)
    s = s / s.max()  # the estimator's rescaling of the weights to <= 1, with C to match
    C = C * (1.0 if sample_weight is None else np.max(sample_weight))
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.asarray(X, dtype=np.float64)
    coef = np.asarray(model.coef_, dtype=np.float64)
    # for L1, only the features with a nonzero coefficient (the rest are at a kink)
    features = np.any(coef != 0, axis=0) if l1_ratio > 0 else np.ones(X.shape[1], bool)
    X, coef = X[:, features], coef[:, features]
    loss = LogisticLoss(X, y_index, s, C=C, fit_intercept=model.fit_intercept,
                        model=for_classes(len(classes)), l1_ratio=l1_ratio)
    x = fitted_vector(model, features)
    keep = np.ones(x.size, dtype=bool)
    if l1_ratio > 0:
        keep[:loss.n_penalised] = x[:loss.n_penalised] != 0
    mu = convexity(loss.gradient_hessian(x)[2][np.ix_(keep, keep)])
    # the stopping rule saw a computed gradient: add what its rounding can hide (residuals
    # |r| <= 1 summed over n rows, and z = X w rounded over d terms moving r by <= |dz|/4)
    u = np.finfo(np.dtype(model.coef_.dtype)).eps
    n, d = X.shape
    intercept = np.abs(np.asarray(model.intercept_, dtype=np.float64)).max(initial=0.0)
    dz = d * u * (np.abs(X) @ np.abs(coef).max(axis=0) + intercept)
    rounding = (u * s * (n + dz / 4)) @ np.hstack([np.abs(X), np.ones((n, 1))])
    g = float(model.grad_max_) + rounding.max() / s.sum()
    return np.sqrt(keep.sum()) * g / mu


def reorder_bound(X, sample_weight=None, coef=None, *, k=1, fit_intercept=True, v=None):
    """How far apart two correct evaluations of the objective can land when they add the same
    terms in a different order (row blocks, chunks, BLAS or compiled loops, sparse or dense,
    Dask), by the worst-case bound of recursive summation (Higham, |error| <= m u sum|terms|
    for m terms), counted twice (once per evaluation). Returns ``(loss, vector)``: a bound
    for the loss and a per-coefficient bound (``[W; b]`` raveled, as the solvers hold it)
    for the gradient, or, with ``v``, for the Hessian product ``H v``.

    Per row, the scores ``z = x w + b`` sum d terms, so their rounding is at most
    ``d u (|x| |w| + |b|)``; a residual moves by at most twice that (its slope is <= 1 in
    each score), and the n rows' contributions are then summed:
    ``(n + d) u (1 + 2 (|x| |w| + |b|)) |x_j|`` per row bounds every rounding there is.
    For ``H v``, p <= 1/4 times ``x v``, whose rounding is bounded the same way. The
    penalty's few operations are left to ``assert_reordered``'s ulps."""
    X = X.toarray() if hasattr(X, "toarray") else backend.to_numpy(X)
    u = np.finfo(X.dtype).eps  # products accumulate in X's dtype or better
    X = np.abs(X.astype(np.float64))
    n, d = X.shape
    s = np.ones(n) if sample_weight is None else backend.to_numpy(sample_weight).astype(np.float64)
    Wb = np.abs(backend.to_numpy(coef).astype(np.float64)).reshape(-1, k)
    b = Wb[d].max() if fit_intercept else 0.0
    z = X @ Wb[:d].max(axis=1) + b  # |z| of every class is at most this
    columns = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    if v is None:
        row = 1 + 2 * z
    else:
        Vb = np.abs(backend.to_numpy(v).astype(np.float64)).reshape(-1, k)
        row = (1 + 2 * z) * (X @ Vb[:d].max(axis=1) + (Vb[d].max() if fit_intercept else 0.0))
    vector = 2 * (n + d) * u * ((s * row) @ columns) / s.sum()
    loss = 2 * (n + d) * u * (s @ (1 + z + np.log(k + 1))) / s.sum()  # l <= |z| + log(k+1)
    return loss, np.repeat(vector, k)


def assert_reordered(a, b, bounds):
    """``a`` and ``b``, two evaluations ``(loss, vector)`` or vectors, agree within
    ``reorder_bound``'s ``bounds``, plus 4 ulp of the values for the few operations after
    the sums (scaling by 1/S, adding the penalty) that either side may order differently."""
    loss_bound, vector_bound = bounds
    ulps = 4 * np.finfo(np.float64).eps
    if isinstance(a, tuple):
        slack = loss_bound + ulps * max(abs(a[0]), abs(b[0]))
        assert abs(a[0] - b[0]) <= slack, (a[0], b[0], slack)
        a, b = a[1], b[1]
    a, b = backend.to_numpy(a), backend.to_numpy(b)
    excess = np.abs(a - b) - vector_bound - ulps * np.maximum(np.abs(a), np.abs(b))
    assert excess.max() <= 0, f"{excess.max()} beyond the bound at {excess.argmax()}"


def hessian_reorder_bound(X, sample_weight=None, coef=None, *, k=1, fit_intercept=True):
    """``reorder_bound`` for every entry of the Hessian (column j: the product with e_j)."""
    return np.column_stack([
        reorder_bound(X, sample_weight, coef, k=k, fit_intercept=fit_intercept, v=e)[1]
        for e in np.eye(np.size(coef))])
