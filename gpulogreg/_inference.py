"""Inference for a fitted model: the covariance of its coefficients and their table
(standard errors, z, p-values, confidence intervals), from two passes over X on any source.

The parameters are, for two classes, ``[coefficients in X's column order, intercept]``; for
k >= 3 classes those of the classes ``classes_[1:]`` relative to ``classes_[0]``, one block
per class (``W_c - W_0``, ``b_c - b_0``), as statsmodels' MNLogit: the symmetric softmax
parametrisation the estimator stores is not identified without a penalty.

With H the Hessian of the summed loss ``sum_i s_i l_i`` (frequency weights s; one pass:
``passes.GradientHessian``) and M the meat (``score_passes``: the gram of the rows' score
vectors, or of their sums per cluster; a second pass):

- ``"nonrobust"``: ``H^-1``, the inverse observed Fisher information;
- ``"HC0"``: ``H^-1 M H^-1``; ``"HC1"``: HC0 times ``n / (n - p)`` (n = sum of the weights,
  p parameters, the intercept counted);
- ``"cluster"``: ``H^-1 M_G H^-1`` times ``G / (G - 1) (n - 1) / (n - p)``, statsmodels'
  default small-sample factor.

With an L2 penalty (C finite) the covariance is that of the penalised estimator,
``H_C^-1 M H_C^-1`` with ``H_C = H + I / C`` on the coefficients (the intercept is not
penalised), M the Fisher information H for ``"nonrobust"``. Without a penalty ``H_C = H``
and this is the usual covariance, equal to statsmodels'. L1 and elastic-net penalties have
no such covariance: a ValueError says so.
"""

from __future__ import annotations

import math

import numpy as np

from . import _backend, _validation
from .loss import overrides
from .loss.layout import Layout
from .loss.models import Binomial, Multinomial
from .loss.passes import GradientHessian
from .loss.score_passes import GroupScores, ScoreGram
from .sources import source_for

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")
COLUMNS = ("coef", "std_err", "z", "p_value", "ci_lower", "ci_upper")


def covariance(model, X, y, sample_weight=None, cov_type="nonrobust", groups=None):
    """``(cov (p, p) in X's namespace, estimates (p,), names)``: see the module docstring.
    ``model`` is a fitted estimator; X, y, sample_weight, groups as NumPy, CuPy or Dask
    arrays of one kind (the estimator's boundary brought other libraries' here)."""
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}; got {cov_type!r}.")
    C, l1_ratio = model._inference_penalty()
    if l1_ratio > 0 and not math.isinf(C):
        raise ValueError("covariance_matrix: an L1 or elastic-net penalty's estimator has no "
                         "such covariance (the selection is not smooth); refit with "
                         "l1_ratio=0, or without a penalty on the selected features.")
    xp = _backend.get_namespace(X=X, y=y, sample_weight=sample_weight)
    X = _validation.check_X(X, xp, finite=not _backend.is_dask(xp))
    n, d = X.shape
    if d != model.n_features_in_:
        raise ValueError(f"X has {d} features, but {type(model).__name__} was fitted on "
                         f"{model.n_features_in_}.")
    labels = _labels(y, n, model, xp)
    weights = _frequency_weights(sample_weight, n, labels, model, xp)
    classes = _backend.to_numpy(_backend.to_internal(model.classes_))
    k = 1 if len(classes) == 2 else len(classes)
    layout = Layout(d, k, model.fit_intercept)
    p = layout.n_params
    _check_fits(p, xp)
    estimate = layout.from_estimator(model._dense_coef(), model.intercept_, np)
    state = _backend.to_namespace(estimate, xp if not _backend.is_dask(xp) else np)
    model_k = Binomial() if k == 1 else Multinomial(k)
    source = _source(X, labels, weights, model)
    if math.isinf(C):
        _check_not_separated(model, X, labels, xp)
    _, _, H = source.reduce(GradientHessian(state, d, model.fit_intercept, model=model_k,
                                            compiled=overrides.compiled_for(source)))
    H = _backend.to_numpy(H)
    n_groups = None
    if cov_type == "nonrobust":
        M = H
    elif cov_type == "cluster":
        M, n_groups = _cluster_meat(X, labels, weights, groups, n, state, layout, model_k, xp,
                                    model)
    else:
        (M,) = source.reduce(ScoreGram(state, d, model.fit_intercept, model=model_k))
        M = _backend.to_numpy(M)
    H_C = H.copy()
    if not math.isinf(C):
        diagonal = np.arange(layout.n_penalised)
        H_C[diagonal, diagonal] += 1.0 / C
    n_weighted = float(n if weights is None else _backend.materialize(weights.sum()))
    if k == 1:
        cov = _sandwich(H_C, None if cov_type == "nonrobust" and math.isinf(C) else M)
        values, p_out = estimate, p
    else:
        cov, values = _reference_class(H, H_C, M, estimate, layout, cov_type, C)
        p_out = values.shape[0]
    if cov_type == "HC1":
        cov *= n_weighted / (n_weighted - p_out)
    elif cov_type == "cluster":
        cov *= n_groups / (n_groups - 1) * (n_weighted - 1) / (n_weighted - p_out)
    names = _names(model, classes, k)
    on_device = xp is not np and not _backend.is_dask(xp)  # Dask: the client's NumPy
    return (xp.asarray(cov) if on_device else cov), values, names


def table(model, X, y, sample_weight=None, cov_type="nonrobust", groups=None, alpha=0.05):
    """The coefficient table (``COLUMNS``) as a pandas DataFrame indexed by parameter name,
    or without pandas a dict of NumPy arrays with the same keys (and ``"index"``)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
    from scipy.special import ndtri
    from scipy.stats import norm

    cov, values, names = covariance(model, X, y, sample_weight, cov_type, groups)
    std_err = np.sqrt(np.diagonal(_backend.to_numpy(cov)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = values / std_err
    half = ndtri(1 - alpha / 2) * std_err
    columns = {"coef": values, "std_err": std_err, "z": z, "p_value": 2 * norm.sf(np.abs(z)),
               "ci_lower": values - half, "ci_upper": values + half}
    try:
        import pandas as pd
    except ImportError:
        return {"index": np.array(names, dtype=object), **columns}
    return pd.DataFrame(columns, index=pd.Index(names, name="parameter"))


def _labels(y, n, model, xp):
    """y (labels of ``classes_``) as class indices, float64, in X's namespace."""
    if y is None:
        raise ValueError("y is required: the covariance of the coefficients depends on the "
                         "labels (a row's score is x_i times the residual of y_i).")
    classes = _backend.to_numpy(_backend.to_internal(model.classes_))
    if _backend.is_dask(xp):
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must be 1-D with one label per row of X ({n}); got shape "
                             f"{y.shape}.")
        return y.map_blocks(lambda b: np.searchsorted(classes, b).astype(np.float64),
                            dtype=np.float64)
    host = _backend.to_numpy(y) if hasattr(y, "shape") else np.asarray(y)
    if host.ndim != 1 or host.shape[0] != n:
        raise ValueError(f"y must be 1-D with one label per row of X ({n}); got shape "
                         f"{host.shape}.")
    position = np.searchsorted(classes, host)
    known = position < len(classes)
    known[known] = classes[position[known]] == host[known]
    if not known.all():
        raise ValueError(f"y holds labels the model was not fitted on: "
                         f"{host[~known][:5].tolist()}; its classes_ are "
                         f"{classes.tolist()[:10]}.")
    return xp.asarray(position.astype(np.float64))


def _frequency_weights(sample_weight, n, labels, model, xp):
    """sample_weight (frequency weights, as given) times the class weights the fit used,
    float64; or None for unit weights."""
    class_weight = getattr(model, "class_weight", None)
    if sample_weight is None and class_weight is None:
        return None
    if sample_weight is None:
        weights = xp.ones(n, dtype=np.float64)
    else:  # checked as fit checks them (that rescales a copy: the raw weights are wanted)
        _validation.check_sample_weight(sample_weight, n, np.float64, xp)
        weights = xp.asarray(sample_weight, dtype=np.float64)
    if class_weight is not None:
        classes = _backend.to_internal(model.classes_)
        factor = _validation.class_weights(class_weight, classes, labels, weights, xp)
        weights = weights * factor[labels.astype(np.intp)]
    return weights


def _check_fits(p, xp):
    """Refuse, before allocating, a p x p computation bigger than the device's memory."""
    need = 6 * 8 * p * p
    info = _backend.memory_info(xp)
    if info is not None and need > info[1]:
        raise MemoryError(f"the covariance of {p:,} parameters needs about {need / 2**30:,.1f} "
                          f"GiB (p x p matrices), more than the {info[1] / 2**30:,.1f} GiB of "
                          f"memory on {_backend.device_name(xp)}.")


def _source(X, y, weights, model):
    """The source the fit would read X from: a host X streams through the GPU where the
    model was fitted with ``device="cuda[:N]"`` (in chunks of its ``chunk_rows``), as
    ``fit`` streams it; any other X is read where it lives."""
    streamed = _backend.get_namespace(X=X) is np and \
        _backend.parse_device(getattr(model, "device", "auto"))[0] == "cuda"
    return source_for(X, y, weights, fit_intercept=model.fit_intercept,
                      device=model.device if streamed else "auto",
                      chunk_rows=getattr(model, "chunk_rows", None) if streamed else None)


def _cluster_meat(X, labels, weights, groups, n, state, layout, model_k, xp, model):
    """``(sum_g G_g G_g^T, number of groups)`` with the groups' summed scores
    (``GroupScores``)."""
    if groups is None:
        raise ValueError("cov_type='cluster' needs groups: one cluster label per row of X.")
    host = _backend.to_numpy(groups)
    if host.ndim != 1 or host.shape[0] != n:
        raise ValueError(f"groups must be 1-D with one label per row of X ({n}); got shape "
                         f"{host.shape}.")
    if host.dtype.kind == "f" and np.isnan(host).any():
        raise ValueError("groups contain NaN; give every row a cluster label.")
    if host.dtype.kind == "O" and any(v is None for v in host.tolist()):
        raise ValueError("groups contain None; give every row a cluster label.")
    _, index = np.unique(host, return_inverse=True)
    G = int(index.max()) + 1
    if G < 2:
        raise ValueError("groups must hold at least two clusters; all rows are in one.")
    k_labels = max(layout.k, 2)
    code = index.astype(np.float64) * k_labels + _backend.to_numpy(labels)
    code = code if xp is np else (xp.asarray(code) if not _backend.is_dask(xp) else
                                  xp.from_array(code, chunks=(X.chunks[0],)))
    source = _source(X, code, weights, model)
    (S,) = source.reduce(GroupScores(state, layout.n_features, layout.fit_intercept, G,
                                     k_labels, model=model_k))
    S = _backend.to_numpy(S)
    return S.T @ S, G


def _check_not_separated(model, X, labels, xp):
    """Without a penalty the maximum-likelihood estimate exists only if no hyperplane
    classifies every row right: where the fitted one does (one more pass), the data are
    perfectly separated, the coefficients are not identified (the likelihood keeps rising as
    they grow) and no covariance describes them."""
    z = model.decision_function(X)
    index = z.argmax(axis=1) if z.ndim == 2 else (z > 0)
    wrong = (index != labels.astype(index.dtype)).sum()
    if int(_backend.materialize(wrong)) == 0:
        raise ValueError("the data are perfectly separated: the fitted model classifies every "
                         "row right, so without a penalty the coefficients are not identified "
                         "(the likelihood keeps rising as they grow) and have no covariance. "
                         "Fit with a penalty (finite C) and read the penalised estimator's, "
                         "or drop the separating features.")


def _sandwich(H, M):
    """``H^-1`` (M None) or ``H^-1 M H^-1``, by Cholesky; a ValueError where H is singular
    or too ill-conditioned to invert (perfect separation, collinear features)."""
    inverse = _inverse(H)
    return inverse if M is None else inverse @ M @ inverse


def _inverse(H):
    from scipy.linalg import cho_factor, cho_solve

    try:
        factor = cho_factor(H, lower=True)
    except np.linalg.LinAlgError:
        factor = None
    diagonal = None if factor is None else np.abs(np.diagonal(factor[0]))
    if factor is None or not np.isfinite(factor[0]).all() or diagonal.min() <= 0 or \
            (diagonal.max() / diagonal.min()) ** 2 > 1 / np.finfo(float).eps:
        raise ValueError("the Hessian X^T W X is singular or too ill-conditioned to invert: "
                         "the data may be perfectly separated (some coefficients are not "
                         "identified: the likelihood keeps rising as they grow), or features "
                         "collinear. Drop or combine features, or fit with a penalty (finite "
                         "C) and read the penalised estimator's covariance.")
    return cho_solve(factor, np.eye(H.shape[0]))


def _reference_class(H, H_C, M, estimate, layout, cov_type, C):
    """The multinomial parameters relative to class 0, their estimates and covariance."""
    P, k = layout.rows, layout.k
    grid = estimate.reshape(P, k)
    values = (grid[:, 1:] - grid[:, :1]).T.reshape(-1)  # class blocks, [w, b] each
    # the reduced parametrisation's index into the full one: class c >= 1, row j
    index = np.array([j * k + c for c in range(1, k) for j in range(P)])
    if math.isinf(C):
        reduced = np.ix_(index, index)
        cov = _sandwich(H[reduced], None if cov_type == "nonrobust" else M[reduced])
        return cov, values
    if layout.fit_intercept:  # the intercepts' common shift is not penalised, and changes no
        # probability: a null direction of H_C and M that A removes; fill it to invert
        u = np.zeros(P * k)
        u[layout.n_features * k:] = 1 / math.sqrt(k)
        H_C = H_C + float(np.mean(np.diagonal(H_C))) * np.outer(u, u)
    full = _sandwich(H_C, M)
    A = np.zeros((index.size, P * k))
    for row, (c, j) in enumerate((c, j) for c in range(1, k) for j in range(P)):
        A[row, j * k + c], A[row, j * k] = 1.0, -1.0
    return A @ full @ A.T, values


def _names(model, classes, k):
    """Parameter names: the features (``feature_names_in_``, else ``x0..``) and
    ``intercept``; for k classes, each prefixed by its class (``label:name``)."""
    d = model.n_features_in_
    features = [str(n) for n in getattr(model, "feature_names_in_", [])] or \
        [f"x{j}" for j in range(d)]
    block = features + (["intercept"] if model.fit_intercept else [])
    if k == 1:
        return block
    return [f"{label}:{name}" for label in classes.tolist()[1:] for name in block]
