"""The limited-memory quasi-Newton machinery shared by ``lbfgs`` and ``owlqn``: the memory
of curvature pairs and the two-loop recursion, in the namespace of the solver state (dot
products stay on the device as 0-d arrays)."""

from __future__ import annotations

from collections import deque


def memory(m, pairs=()):
    """A memory of at most ``m`` curvature pairs, holding ``pairs`` ``[(s, y)]`` (oldest
    first) that keep it positive definite."""
    history = deque(maxlen=m)  # (s, y, s @ y, (s @ y) / (y @ y))
    for s, y in pairs:
        remember(history, s, y)
    return history


def pairs(history):
    """The curvature pairs ``[(s, y)]`` of a memory, oldest first (``Result.memory``)."""
    return [(s, y) for s, y, _, _ in history]


def remember(history, s, y):
    """Add the curvature pair ``(s, y)`` (step, gradient change) to the memory, if it keeps
    the inverse-Hessian approximation positive definite."""
    sy, yy = float(s @ y), float(y @ y)
    if sy > 1e-10 * yy:
        history.append((s, y, sy, sy / yy))


def two_loop(g, history):
    """H_k @ g by the two-loop recursion; dot products stay on the device (0-d arrays)."""
    q = g.copy()
    alphas = []
    # divide by s.y rather than multiply by its inverse: no overflow when s, y are tiny
    for s, y, sy, _ in reversed(history):
        alpha = (s @ q) / sy
        q -= alpha * y
        alphas.append(alpha)
    if history:
        q *= history[-1][3]  # initial H_0 = gamma I, gamma = s.y / y.y of the newest pair
    for (s, y, sy, _), alpha in zip(history, reversed(alphas)):
        beta = (y @ q) / sy
        q += (alpha - beta) * s
    return q


def carried(pairs, old, new):
    """The curvature pairs ``(s, y)`` of objective ``old`` made those of ``new``, another
    penalty on the same data (the next C of a path): y, the change of the gradient along
    s, is a data part, the same for both, plus the smooth penalty's part, which is
    swapped (``penalty_gradient``). A pair whose y is mostly the old penalty's part (a
    small C) is left out: its data part would be the difference of nearly equal vectors,
    rounding noise that two equal fits (weights or repeated rows) need not share."""
    out = []
    for s, y in pairs:
        old_l2 = old.penalty_gradient(s)
        if float((old_l2 * old_l2).sum()) <= 0.25 * float((y * y).sum()):
            out.append((s, y - old_l2 + new.penalty_gradient(s)))
    return out
