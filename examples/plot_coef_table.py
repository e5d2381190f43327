"""
Inference: the coefficient table and confidence intervals
=========================================================

``coef_table`` gives each fitted parameter with its standard error, z statistic,
two-sided p-value and a normal confidence interval, the numbers statsmodels' ``Logit``
prints (the tests compare them with statsmodels'). With ``C=np.inf`` the model is
unpenalised maximum likelihood; ``cov_type`` chooses the covariance: ``"nonrobust"``
(inverse Fisher information), ``"HC0"``/``"HC1"`` (sandwich) or ``"cluster"``.

It returns a pandas DataFrame when pandas is installed, else a dict of NumPy arrays
with the same columns and an ``"index"`` entry; this script works with either.
"""

import matplotlib.pyplot as plt
import numpy as np

import gpulogreg

rng = np.random.default_rng(0)
n = 2_000
X = rng.normal(size=(n, 4))
true_coef = np.array([1.0, -0.5, 0.25, 0.0])
site = rng.integers(0, 40, size=n)                      # e.g. the region of each row
y = (X @ true_coef + 0.3 + rng.logistic(size=n) > 0).astype(int)

model = gpulogreg.LogisticRegression(C=np.inf).fit(X, y)
table = model.coef_table(X, y)
print(table)

clustered = model.coef_table(X, y, cov_type="cluster", groups=site)


def columns(table):
    """(names, coef, lower, upper) from a DataFrame or from the dict form."""
    names = list(table["index"]) if isinstance(table, dict) else list(table.index)
    return (names, np.asarray(table["coef"]), np.asarray(table["ci_lower"]),
            np.asarray(table["ci_upper"]))


# %%
# The estimates with their 95 % intervals, from the inverse Fisher information and
# clustered by site, beside the coefficients that generated the data.

names, coef, lower, upper = columns(table)
_, _, c_lower, c_upper = columns(clustered)
position = np.arange(len(names))
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.errorbar(position - 0.1, coef, yerr=[coef - lower, upper - coef], fmt="o", capsize=4,
            label="95 % CI, nonrobust")
ax.errorbar(position + 0.1, coef, yerr=[coef - c_lower, c_upper - coef], fmt="o",
            capsize=4, label="95 % CI, clustered by site")
ax.plot(position, np.append(true_coef, 0.3), "k_", markersize=18, label="true value")
ax.axhline(0, color="grey", lw=0.8)
ax.set_xticks(position, names)
ax.set_ylabel("estimate")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
