"""Run scikit-learn's own tests of LogisticRegression and LogisticRegressionCV
(sklearn/linear_model/tests/test_logistic.py, as installed) against gpulogreg's estimators.

    python tests/sklearn_suite.py [pytest options]      # e.g. -x, -k lbfgs

The file is copied to a temporary folder with one line changed: the estimators it imports
from sklearn.linear_model come from gpulogreg instead (everything else, scikit-learn's
private helpers included, is scikit-learn's own). Prints pytest's summary and the share of
the cases that ran (passed + failed; skips and expected failures are not counted) that
passed. PyTorch and array-api-strict, when installed, add the array-API cases.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import sklearn

SOURCE = Path(sklearn.__file__).parent / "linear_model" / "tests" / "test_logistic.py"
IMPORT = "from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, SGDClassifier"
OURS = ("from sklearn.linear_model import SGDClassifier\n"
        "from gpulogreg import LogisticRegression, LogisticRegressionCV")


def main(argv):
    text = SOURCE.read_text()
    if IMPORT not in text:
        sys.exit(f"{SOURCE} no longer imports the estimators as expected: {IMPORT!r}")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "test_logistic_gpulogreg.py"
        copy.write_text(text.replace(IMPORT, OURS))
        env = {**os.environ, "SCIPY_ARRAY_API": "1"}
        # scikit-learn's conftest gives its fixtures (global_random_seed, ...)
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                               "-p", "sklearn.conftest", "-q", "-rfE", "--no-header",
                               str(copy), *argv],
                              cwd=folder, env=env, capture_output=True, text=True)
    print(done.stdout[-60000:])
    counts = {key: int(value) for value, key in
              re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)",
                         done.stdout.splitlines()[-1] if done.stdout else "")}
    ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0) + \
        counts.get("errors", 0) + counts.get("xpassed", 0)
    if ran:
        print(f"scikit-learn {sklearn.__version__}'s test_logistic.py on gpulogreg: "
              f"{counts.get('passed', 0) + counts.get('xpassed', 0)} of {ran} cases that ran "
              f"passed ({(counts.get('passed', 0) + counts.get('xpassed', 0)) / ran:.1%})")
    return 0 if done.returncode in (0, 1) else done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
