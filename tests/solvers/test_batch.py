"""A model batch (problems with their own C and fold mask, one pass over X per round) gives
what each problem gives when it is solved alone, for every solver and both models; on a GPU
(the CuPy stand-in) a round reads the device once and its pieces fit the device's memory."""

import numpy as np
import pytest
import scipy.sparse
from helpers import first_feature_problem
from reference import assert_reordered, convexity, reorder_bound

from gpulogreg.loss.models import Binomial, Multinomial
from gpulogreg.loss.objective import LogisticLoss
from gpulogreg.solvers import ITERATE, SOLVERS, prox_newton
from gpulogreg.solvers.batch import ModelBatch
from gpulogreg.sources.memory import RowBlocks


def problem(model, n=900, d=7, folds=3, seed=0, layout="C"):
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.normal(size=(n, d)) * rng.uniform(0.5, 2, size=d), order=layout)
    if model.k == 1:
        y = (X[:, 0] + rng.logistic(size=n) > 0).astype(float)
    else:
        y = np.argmax(X[:, :model.k] + rng.gumbel(size=(n, model.k)), axis=1).astype(float)
    s = rng.uniform(0.1, 1.0, size=n)
    fold_of_row = rng.integers(0, folds, size=n)
    masks = np.stack([fold_of_row != f for f in range(folds)])
    return X, y, s, masks


# every solver a batch can run: the users' and the estimator's internal proximal Newton
MINIMIZE = {**SOLVERS, "prox-newton": prox_newton.minimize}


@pytest.mark.parametrize("model", [Binomial(), Multinomial(3)], ids=["binomial", "multinomial"])
@pytest.mark.parametrize("solver", sorted(ITERATE))
def test_batch_equals_each_problem_alone(model, solver):
    X, y, s, masks = problem(model, layout="F" if solver == "lbfgs" else "C")
    problems = [(f, C) for f in range(masks.shape[0]) for C in (0.01, 1.0, np.inf)]
    source = RowBlocks(X, y, s)
    source._block_rows = 128  # several blocks, so that the masks are sliced per block
    batch = ModelBatch(source, model, masks, problems)
    tol = 1e-8
    results = batch.solve([ITERATE[solver](m, np.zeros(batch.n_params), tol=tol,
                                           max_iter=10_000) for m in batch.members])
    for (fold, C), res in zip(problems, results):
        alone = LogisticLoss(X, y, s * masks[fold], C=C, model=model)
        ref = MINIMIZE[solver](alone, np.zeros(batch.n_params), tol=tol, max_iter=10_000)
        assert res.converged and ref.converged
        if solver not in ("gd", "owlqn"):  # the same requests, answered the same up to the
            assert res.n_iter == ref.n_iter and res.n_fev == ref.n_fev  # order of sums
            # both within their stopping rule's reach of the optimum (reference.optimum_radius)
            mu = convexity(alone.gradient_hessian(ref.x)[2])
            bound = np.sqrt(ref.x.size) * (res.grad_max + ref.grad_max) / mu
            assert np.abs(res.x - ref.x).max() <= bound
        else:  # hundreds of backtracking steps amplify rounding; both end within tol
            np.testing.assert_array_less(np.abs(alone.gradient(res.x)), tol)


def test_converged_problems_leave_the_batch():
    """Each round's pass serves only the problems still running: the one that converges
    first stops asking, the other keeps going, and no request is answered twice."""
    X, y, s, masks = problem(Binomial())
    source = RowBlocks(X, y, s)
    widths = []
    reduce = source.reduce

    def counting(pass_):
        widths.append(len(pass_.gradients) + len(pass_.products))
        return reduce(pass_)

    source.reduce = counting
    batch = ModelBatch(source, Binomial(), masks, [(0, 1e-2), (1, 1e4)])
    results = batch.solve([ITERATE["lbfgs"](m, np.zeros(8), tol=tol, max_iter=1000)
                           for m, tol in zip(batch.members, (1e-3, 1e-12))])
    n_fev = sorted(r.n_fev for r in results)
    assert n_fev[0] < n_fev[1]
    assert widths == [2] * n_fev[0] + [1] * (n_fev[1] - n_fev[0])


@pytest.mark.skipif(not __import__("gpulogreg.loss.cpu").loss.cpu.enabled(),
                    reason="the compiled CPU passes were not built")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layout", ["C", "F", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_batch_step_equals_the_reference(monkeypatch, weighted, layout, dtype):
    """The compiled binomial batch gives the NumPy reference's sums, for gradients and
    Hessian products: for a C-contiguous X the whole pass in one kernel
    (``batch_binomial_pass``: chunks of 32 rows, n not a multiple of them, several chunks
    per group), else (Fortran order, sparse) the compiled elementwise sweep between the
    products, on pieces that start mid-array (the masks' row offset)."""
    from gpulogreg.loss import batch_pass, cpu
    from gpulogreg.solvers.batch import Curvature
    from gpulogreg.solvers.requests import Ask, Request

    monkeypatch.setattr(batch_pass, "_BATCH_PIECE_BYTES", 12 * 8 * 64)  # pieces of 64 rows
    monkeypatch.setattr(cpu, "_CHUNK_ROWS", 32)
    monkeypatch.setattr(cpu, "_BATCH_GROUPS", 4)
    calls = []
    for name in ("batch_binomial_pass", "batch_binomial"):
        monkeypatch.setattr(cpu, name, lambda *a, f=getattr(cpu, name), name=name: (
            calls.append(name), f(*a))[1])

    X, y, s, masks = problem(Binomial(), n=700, layout="C" if layout == "csr" else layout)
    X = X.astype(dtype, order="C" if layout == "csr" else layout)
    if layout == "csr":
        X[np.abs(X) < 1] = 0
        X = scipy.sparse.csr_matrix(X)
    y = y.astype(dtype)
    s = s.astype(dtype) if weighted else None
    rng = np.random.default_rng(4)
    pending = {j: Request(Ask.LOSS_GRADIENT, rng.normal(size=8)) for j in range(4)}
    pending.update({j: Request(Ask.GRADIENT_HESSP, rng.normal(size=8)) for j in range(4, 6)})
    for j in range(6, 9):  # the curvature's point drawn first, then the direction
        curvature = Curvature(rng.normal(size=8))
        pending[j] = Request(Ask.HESSP, rng.normal(size=8), curvature)
    problems = [(j % 3, 10.0 ** (j - 4)) for j in range(9)]
    answers = {}
    for compiled in (False, True):
        monkeypatch.setattr(cpu, "BATCH_MIN_ENTRIES", 0 if compiled else 1 << 62)
        source = RowBlocks(X, y, s)
        source._block_rows = 100  # blocks of 100 rows, pieces of 64: offsets everywhere
        batch = ModelBatch(source, Binomial(), masks, problems)
        assert batch.compiled == compiled
        answers[compiled] = batch._answer(pending)
    assert set(calls) == {"batch_binomial_pass" if layout == "C" else "batch_binomial"}
    for j, answer in answers[False].items():
        other = answers[True][j]
        request, fold = pending[j], problems[j][0]
        weights = masks[fold] * (1.0 if s is None else s)  # the rows of this problem
        bounds = (reorder_bound(X, weights, request.curvature.coef, v=request.x)
                  if request.ask is Ask.HESSP else reorder_bound(X, weights, request.x))
        if isinstance(answer, tuple):
            assert_reordered(other[:2], answer[:2], bounds)
        else:
            assert_reordered(other, answer, bounds)


def test_paths_warm_start_each_problem_from_the_one_before():
    """``then`` chains problems: each C of a path starts from the solution of the C before
    it (as scikit-learn's path does), and gives what solving that problem alone from that
    start gives; paths of different folds run side by side."""
    X, y, s, masks = problem(Binomial())
    Cs = (0.01, 1.0, 100.0)
    problems = [(f, C) for f in range(masks.shape[0]) for C in Cs]
    batch = ModelBatch(RowBlocks(X, y, s), Binomial(), masks, problems)
    tol = 1e-8
    starts = {}

    def start(j, x0):
        starts[j] = x0.copy()
        return ITERATE["lbfgs"](batch.members[j], x0, tol=tol, max_iter=1000)

    def then(j, result):
        return (j + 1, start(j + 1, result.x.copy())) if (j + 1) % len(Cs) else None

    results = batch.solve([start(j, np.zeros(8)) if j % len(Cs) == 0 else None
                           for j in range(len(problems))], then)
    for j, (fold, C) in enumerate(problems):
        expected_start = np.zeros(8) if j % len(Cs) == 0 else results[j - 1].x
        np.testing.assert_array_equal(starts[j], expected_start)
        alone = LogisticLoss(X, y, s * masks[fold], C=C)
        ref = SOLVERS["lbfgs"](alone, starts[j], tol=tol, max_iter=1000)
        assert results[j].converged and results[j].n_iter == ref.n_iter
        mu = convexity(alone.gradient_hessian(ref.x)[2])
        bound = np.sqrt(ref.x.size) * (results[j].grad_max + ref.grad_max) / mu
        assert np.abs(results[j].x - ref.x).max() <= bound


def test_the_next_C_starts_without_a_pass():
    """The first request of a path's next C is at the previous C's solution, where the
    previous problem's last answer already holds the data term: it is answered from there
    with the new C's penalty (what a pass gives, up to the order of sums), and costs no
    pass."""
    X, y, s, masks = problem(Binomial())
    source = RowBlocks(X, y, s)
    passes = []
    reduce = source.reduce
    source.reduce = lambda pass_: (passes.append(pass_), reduce(pass_))[1]
    batch = ModelBatch(source, Binomial(), masks, [(1, 0.1), (1, 10.0)])
    first = {}

    def recording(j, gen):
        request = next(gen)
        while True:
            answer = yield request
            first.setdefault(j, answer)
            try:
                request = gen.send(answer)
            except StopIteration as stop:
                return stop.value

    def start(j, x0):
        return recording(j, ITERATE["lbfgs"](batch.members[j], x0, tol=1e-8, max_iter=1000))

    results = batch.solve([start(0, np.zeros(8)), None],
                          lambda j, result: (1, start(1, result.x.copy())) if j == 0 else None)
    assert len(passes) == results[0].n_fev + results[1].n_fev - 1
    alone = LogisticLoss(X, y, s * masks[1], C=10.0)
    assert_reordered(first[1], alone.loss_gradient(results[0].x),
                     reorder_bound(X, s * masks[1], results[0].x))


def test_curvature_pairs_carried_to_the_next_C():
    """lbfgs's pair (s, y) of one C, made the next C's by ``quasi_newton.carried``, is the pair that
    objective gives (y = its gradient change along s), and a pair whose y is mostly the old
    C's L2 term (tiny C: its data part would be rounding noise) is left out."""
    from gpulogreg.solvers.quasi_newton import carried

    X, y, s, masks = problem(Binomial())
    batch = ModelBatch(RowBlocks(X, y, s), Binomial(), masks, [(2, 0.5), (2, 50.0), (2, 1e-7)])
    rng = np.random.default_rng(3)
    x, step = rng.normal(size=8), rng.normal(size=8) * 0.1
    losses = {C: LogisticLoss(X, y, s * masks[2], C=C) for C in (0.5, 50.0, 1e-7)}
    change = {C: loss.gradient(x + step) - loss.gradient(x) for C, loss in losses.items()}
    (s_new, y_new), = carried([(step, change[0.5])], batch.members[0], batch.members[1])
    np.testing.assert_array_equal(s_new, step)
    np.testing.assert_allclose(y_new, change[50.0], rtol=1e-9, atol=1e-12)
    assert carried([(step, change[1e-7])], batch.members[2], batch.members[1]) == []


def test_a_model_batch_round_reads_the_device_once(fake_gpu):
    """Every objective of a round (50 problems: 10 Cs x 5 folds) comes to the host in one
    transfer, and the folds' weight sums in one at the start: not one per problem."""
    from gpulogreg.loss.models import Binomial
    from gpulogreg.solvers.batch import ModelBatch
    from gpulogreg.solvers.requests import Ask, Request
    from gpulogreg.sources.memory import RowBlocks

    cp = fake_gpu()
    X, y, s = first_feature_problem(500)
    masks = np.stack([np.arange(500) % 5 != f for f in range(5)])
    problems = [(f, C) for f in range(5) for C in np.logspace(-2, 2, 10)]
    source = RowBlocks(cp.asarray(X), cp.asarray(y), cp.asarray(s))
    start = cp.log.count("sync")
    batch = ModelBatch(source, Binomial(), cp.asarray(masks), problems)
    assert cp.log.count("sync") - start == 1
    rng = np.random.default_rng(0)
    pending = {j: Request(Ask.LOSS_GRADIENT, cp.asarray(rng.normal(size=8)))
               for j in range(50)}
    start = cp.log.count("sync")
    answers = batch._answer(pending)
    assert cp.log.count("sync") - start == 1
    for j in (0, 17, 49):
        fold, C = problems[j]
        alone = LogisticLoss(X, y, s * masks[fold], C=C)
        f_ref, g_ref = alone.loss_gradient(np.asarray(pending[j].x))
        np.testing.assert_allclose(answers[j][0], f_ref, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(answers[j][1]), g_ref, rtol=1e-10, atol=1e-14)


def test_model_batch_pieces_are_sized_for_the_device(fake_gpu, monkeypatch):
    """A wide X on a GPU is walked in pieces sized by the free device memory and the number
    of models, not by a cache budget spread over d (which at d = 10^5 leaves a few dozen
    rows a piece); the CPU keeps its cache-sized pieces. A CSC X is turned into CSR once
    per batch, not rescanned per piece."""
    import scipy.sparse as sp

    from gpulogreg.loss import batch_pass
    from gpulogreg.loss.models import Binomial
    from gpulogreg.solvers.batch import ModelBatch
    from gpulogreg.sources.memory import RowBlocks

    cp = fake_gpu(free_bytes=8 << 30)
    gpu_rows = batch_pass.batch_piece_rows(cp, 100, 100_000, 8)
    assert gpu_rows >= (8 << 30) // 16 // (3 * 100 * 8)
    assert batch_pass.batch_piece_rows(np, 100, 100_000, 8) == (1 << 25) // (100_000 * 8)
    X = sp.random(300, 50, density=0.1, format="csc", random_state=0)
    y = (np.arange(300) % 2).astype(float)
    masks = np.stack([np.arange(300) % 3 != f for f in range(3)])
    batch = ModelBatch(RowBlocks(X, y), Binomial(), masks, [(0, 1.0), (2, 0.5)])
    assert batch.source.X.format == "csr"
