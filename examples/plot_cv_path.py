"""
Choosing C by cross-validation
==============================

:class:`gpulogreg.LogisticRegressionCV` fits every fold along a path of ``Cs`` (each C
warm-started from the fold's solution for the C before it, all folds advancing together,
one pass over X per round for all of them) and keeps the C with the best mean test
score, as scikit-learn's ``LogisticRegressionCV`` does. Here: the folds' log-loss
scores against C, their mean, and the chosen ``C_``.
"""

import matplotlib.pyplot as plt
import numpy as np

from gpulogreg import LogisticRegressionCV

rng = np.random.default_rng(0)
n, d = 4_000, 30
X = rng.normal(size=(n, d))
coef = rng.normal(size=d) * (rng.random(d) < 0.3)       # a few informative features
y = (X @ coef + rng.logistic(size=n) > 0).astype(int)

model = LogisticRegressionCV(Cs=np.logspace(-4, 2, 13), cv=5, scoring="neg_log_loss",
                             l1_ratios=(0,), use_legacy_attributes=False).fit(X, y)
print("chosen C:", model.C_)
print("scores_ (folds, l1_ratios, Cs):", model.scores_.shape)
print("iterations per fold and C:\n", model.n_iter_[:, 0, :])

# %%
# Each grey line is one fold's held-out score along the path; the black line is their
# mean, whose maximum picks ``C_`` (the refit then fits that C on all rows).

scores = model.scores_[:, 0, :]                         # (folds, Cs)
fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogx(model.Cs_, scores.T, color="grey", lw=0.8, alpha=0.7)
ax.semilogx(model.Cs_, scores.mean(axis=0), "o-", color="black", label="mean of 5 folds")
ax.axvline(model.C_, color="C1", ls="--", label=f"C_ = {model.C_:.3g}")
ax.set(xlabel="C (inverse penalty strength)", ylabel="held-out score (negative log-loss)")
ax.legend()
fig.tight_layout()
plt.show()
