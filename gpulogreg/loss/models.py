"""Models (DESIGN.md section 6): what one row contributes, for the k columns of Z = X W + b.

- ``Binomial`` (k = 1): labels y in {0, 1}, the logistic loss of z = X w + b.
- ``Multinomial`` (k classes): labels y the class index 0..k-1, the softmax cross-entropy
  ``log sum_c e^{z_c} - z_y``.

A pass (``_passes``) computes ``Z`` for a block of rows and hands it to its model, which
returns, per row: the residual ``R = s dl/dz`` (shape of Z), the loss ``s l``, and the
*curvature* (what a Hessian-vector product needs: Binomial's ``p = s sigma (1 - sigma)``,
Multinomial's softmax probabilities); ``curvature_times`` applies a row's Hessian block to
``T``, and ``hessian_weights`` lists the per-row weights of each class block of the Hessian.
The binary model keeps 1-D ``z`` (its compiled and fused kernels take vectors); the
multinomial one works on (rows, k) arrays. The ``xp`` code here is the reference; which
override a block uses instead (the fused CUDA kernels on CuPy blocks) is decided in
``overrides``. ``probabilities``, ``log_probabilities`` and ``class_index`` turn decision
values into what the estimators predict.

The elementwise math mirrors ``kernels/logreg_math.cuh`` line for line: only exponentials of
non-positive numbers are evaluated, the loss never takes ``log(sigma)`` or ``log(softmax)``,
and the residual of the true class is formed without cancellation.
"""

from __future__ import annotations

import numpy as np


def _exp_tail(z, xp):
    """``e = exp(-|z|)`` and ``q = e / (1 + e)``, the only exponential taken anywhere:
    ``sigmoid(z)`` is ``1 - q`` for ``z >= 0`` and ``q`` otherwise, so nothing overflows."""
    e = xp.exp(-xp.abs(z))
    return e, e / (1 + e)


def sigmoid(z, xp):
    """``1 / (1 + e^-z)``, stably for any z."""
    _, q = _exp_tail(z, xp)
    return xp.where(z >= 0, 1 - q, q)


def hessian_weight(z, s, xp):
    """``s * sigma(z) * (1 - sigma(z))``, computed as ``s * q * (1 - q)``."""
    _, q = _exp_tail(z, xp)
    p = q * (1 - q)
    return p if s is None else p * s


def residual_and_loss(z, y, s, xp):
    """``r = s*(sigmoid(z) - y)`` and ``l = s*(log(1+e^z) - y*z)``, stably."""
    e, q = _exp_tail(z, xp)
    r = xp.where(z >= 0, (1 - y) - q, q - y)
    l = xp.maximum(z, 0) - y * z + xp.log1p(e)
    if s is not None:
        r *= s
        l *= s
    return r, l


def _softmax_parts(Z, xp):
    """Along the last axis of Z (the classes; any leading axes: rows, models): whether each
    entry is the first argmax (``is_top``), the max ``m`` (keepdims), ``E = exp(Z - m)``
    with 0 at the argmax, and ``others = sum E`` (the softmax denominator is
    ``1 + others``): nothing overflows, and ``others`` keeps its precision when tiny."""
    top = Z.argmax(axis=-1)[..., None]
    is_top = xp.arange(Z.shape[-1]) == top
    m = xp.take_along_axis(Z, top, axis=-1)
    with np.errstate(over="ignore"):  # z - max below -float max: exp(-inf) = 0 is exact
        E = xp.where(is_top, 0, xp.exp(Z - m))
    return is_top, m, E, E.sum(axis=-1)


def softmax(Z, xp):
    """``e^{z_c} / sum e^{z}`` along the last axis, stably for any finite Z."""
    is_top, _, E, others = _softmax_parts(Z, xp)
    return xp.where(is_top, 1, E) / (1 + others)[..., None]


def log_softmax(Z, xp):
    """``z_c - log sum e^{z}`` along the last axis, stably (never the log of a probability)."""
    _, m, _, others = _softmax_parts(Z, xp)
    with np.errstate(over="ignore"):  # below -float max (float32 only): -inf
        return Z - (m + xp.log1p(others)[..., None])


def softmax_residual_and_loss(Z, y, s, xp):
    """``R = s (softmax(Z) - onehot(y))``, ``l = s (log sum e^z - z_y)`` and the softmax P,
    along the last axis of Z (classes); ``y`` (class indices) and ``s`` have Z's leading
    shape (or broadcast to it: a batch of models shares the rows' labels).

    With ``t`` the row's argmax and ``o = sum_{c != t} e^{z_c - z_t}``: ``l = (z_t - z_y) +
    log1p(o)``, and ``R[y] = -o / (1 + o)`` when ``y = t`` (else ``P_y - 1``, with
    ``P_y <= 1/2``): no cancellation, nothing overflows. ``l`` is float64 whatever Z's
    dtype: ``z_t - z_y`` can be twice the float32 maximum.
    """
    is_top, m, E, others = _softmax_parts(Z, xp)
    denom = (1 + others)[..., None]
    P = xp.where(is_top, 1, E) / denom
    labels = xp.broadcast_to(y.astype(np.intp)[..., None], Z.shape[:-1] + (1,))
    is_label = xp.arange(Z.shape[-1]) == labels
    right = (is_label & is_top).any(axis=-1, keepdims=True)  # the label is the argmax
    R = xp.where(is_label, xp.where(right, -others[..., None] / denom, P - 1), P)
    z_label = xp.take_along_axis(Z, labels, axis=-1)[..., 0]
    l = (m[..., 0].astype(np.float64) - z_label) + xp.log1p(others)
    if s is not None:
        R *= s[..., None]
        l *= s
    return R, l, P


class Binomial:
    """Binary logistic regression: one column, ``z = X w + b``, labels 0/1."""

    name = "binomial"
    k = 1

    def residual_and_loss(self, z, y, s, xp, curvature_out=None):
        """``(r, l)`` for a block; with ``curvature_out`` (a slice of an n-vector), also
        writes ``p = s sigma (1 - sigma)`` there."""
        if curvature_out is not None:
            curvature_out[...] = hessian_weight(z, s, xp)
        return residual_and_loss(z, y, s, xp)

    def curvature(self, z, s, xp):
        """``p = s sigma (1 - sigma)`` of each row."""
        return hessian_weight(z, s, xp)

    def curvature_times(self, p, t, s, xp):
        """The rows' Hessian blocks times ``t``: ``p t`` (``p`` already holds the weights
        ``s``)."""
        t *= p
        return t

    def hessian_weights(self, p, s, xp):
        """``[((0, 0), p, True)]``: one block, weights ``p`` (which hold ``s``; non-negative,
        so SYRK applies)."""
        return [((0, 0), p, True)]


class Multinomial:
    """Multinomial (softmax) logistic regression over ``k`` classes: labels 0..k-1."""

    name = "multinomial"

    def __init__(self, k):
        self.k = int(k)

    def residual_and_loss(self, Z, y, s, xp, curvature_out=None):
        """``(R, l)`` for a block of ``Z`` (rows, k); with ``curvature_out`` (a slice of an
        (n, k) array) also writes the softmax probabilities there."""
        R, l, P = softmax_residual_and_loss(Z, y, s, xp)
        if curvature_out is not None:
            curvature_out[...] = P
        return R, l

    def curvature(self, Z, s, xp):
        """The softmax probabilities of each row."""
        return softmax(Z, xp)

    def curvature_times(self, P, T, s, xp):
        """The rows' Hessian blocks ``s (diag(P) - P P^T)`` times the rows of ``T`` (classes
        along the last axis)."""
        U = P * T
        U -= P * U.sum(axis=-1, keepdims=True)
        if s is not None:
            U *= s[..., None]
        return U

    def hessian_weights(self, P, s, xp):
        """Per class pair ``(a, b)``, ``a <= b``: the row weights ``s (P_a [a = b] - P_a P_b)``
        of the Hessian block of classes a and b, and whether they are non-negative (a = b)."""
        out = []
        for a in range(self.k):
            for b in range(a, self.k):
                w = P[:, a] * ((1 - P[:, a]) if a == b else -P[:, b])
                out.append(((a, b), w if s is None else w * s, a == b))
        return out


def for_classes(n_classes):
    """The model scikit-learn fits for ``n_classes`` labels: binomial for two, else
    multinomial."""
    return Binomial() if n_classes == 2 else Multinomial(n_classes)


def probabilities(z, xp):
    """Class probabilities from decision values: ``[1 - sigma(z), sigma(z)]`` (n, 2) for a
    binary model's scores (n,), the softmax of a multinomial model's (n, k)."""
    if z.ndim == 2:
        return softmax(z, xp)
    p1 = sigmoid(z, xp)
    return xp.stack([1 - p1, p1], axis=1)


def log_probabilities(z, xp):
    """Log-probabilities from decision values, stably: ``-log(1 + e^{-+z})`` for a binary
    model's scores, ``z_c - log sum e^z`` for a multinomial model's (never the log of a
    probability)."""
    if z.ndim == 2:
        return log_softmax(z, xp)
    tail = xp.log1p(xp.exp(-xp.abs(z)))  # log(1 + e^t) = max(t, 0) + tail for t = +-z
    return xp.stack([-(xp.maximum(z, 0) + tail), -(xp.maximum(-z, 0) + tail)], axis=1)


def class_index(z):
    """The index in ``classes_`` of each row's predicted class: the argmax of (n, k)
    decision values, ``z > 0`` for a binary model's (n,)."""
    return z.argmax(axis=1) if z.ndim == 2 else (z > 0).astype(np.intp)
