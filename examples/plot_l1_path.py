"""
The L1 path: coefficients against C
===================================

With ``l1_ratio=1.0`` the penalty is ``||w||_1 / (C S)`` and ``solver="owlqn"``
(orthant-wise L-BFGS; ``solver="saga"``, what scikit-learn users pass, runs it too) gives
exact zeros in ``coef_``. As C grows the penalty weakens and features enter the model one
after another. Each fit here is warm-started from the previous C's coefficients
(``warm_start=True``), as a regularisation path usually is.

The data: 20 standardised, mildly correlated features of which 6 matter (an L1 penalty
treats every feature alike, so their scales should be comparable).
"""

import matplotlib.pyplot as plt
import numpy as np

from gpulogreg import LogisticRegression

rng = np.random.default_rng(0)
n, d = 2_000, 20
X = rng.normal(size=(n, d)) + 0.5 * rng.normal(size=(n, 1))     # a shared component
X = (X - X.mean(axis=0)) / X.std(axis=0)
true_coef = np.zeros(d)
true_coef[:6] = [2.0, -1.5, 1.0, -0.75, 0.5, 0.25]
y = (X @ true_coef + rng.logistic(size=n) > 0).astype(int)

Cs = np.logspace(-3, 0, 25)
model = LogisticRegression(l1_ratio=1.0, solver="owlqn", tol=1e-6, max_iter=1000,
                           warm_start=True)
path = []
for C in Cs:
    model.set_params(C=C).fit(X, y)
    path.append(model.coef_[0].copy())
path = np.array(path)                                   # (Cs, features)
kept = (path != 0).sum(axis=1)
for C, k in zip(Cs[::4], kept[::4]):
    print(f"C = {C:8.4f}: {k:2d} of {X.shape[1]} features kept")

# %%
# Every line is one feature's coefficient; it is exactly zero until the feature enters.
# The informative features enter first, in the order of their true size.

fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1]})
top.semilogx(Cs, path, lw=1)
top.set(ylabel="coefficient (standardised feature)",
        title=f"L1 path: {d} features, the first 6 informative")
bottom.semilogx(Cs, kept, "o-", markersize=3)
bottom.set(xlabel="C (inverse penalty strength)", ylabel="nonzero\ncoefficients")
fig.tight_layout()
plt.show()
