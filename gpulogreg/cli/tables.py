"""The command line's table readers: CSV (with a header row), NumPy ``.npy``/``.npz``,
Parquet (with pyarrow) and raw binary tables (an ``np.memmap``). Every error is a
``ValueError`` naming the file (and the line or column where it applies)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

# Fields that mean "no value", as pandas reads them by default: a label that is one of them is
# missing (an error naming the line, or with drop_missing the row is left out)
MISSING = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null",
                     "None", "#N/A", "#NA", "<NA>", "-1.#IND", "1.#QNAN"})


def read_table(path, target=None, shape=None, dtype="float64", columns=None,
               drop_missing=False):
    """``(X, y, names, dropped)`` from a CSV with a header row, a 2-D ``.npy``, an ``.npz`` holding
    ``X`` (and ``y``), a Parquet file (with pyarrow), or with ``shape`` a raw binary file
    read as an ``np.memmap`` (never loaded whole). ``target`` names the label column (a
    header name, or a column index for ``.npy`` and raw files); ``y`` is None without one.
    ``names`` are the feature columns' names for files that have them (CSV, Parquet), else
    None; ``columns`` (names) selects and orders the features of such files (others, such as
    the target, are not read). A missing label (an empty field, ``NA``, a Parquet null, a
    NaN) is an error naming its line or row, or with ``drop_missing`` its row is left out
    (``dropped`` counts those rows). Errors are ``ValueError`` naming the file."""
    X, y, names, lines = _read_table(path, target, shape, dtype, columns)
    dropped = 0
    if y is not None:
        missing = _missing(y)
        if missing.any():
            if not drop_missing:
                first = int(np.argmax(missing))
                place = f"line {lines[first]}" if lines is not None else f"row {first + 1}"
                more = f" ({int(missing.sum())} rows in all)" if missing.sum() > 1 else ""
                raise ValueError(f"{path}, {place}: the label (--target {target}) is missing"
                                 f"{more}; fill or remove those rows, or pass "
                                 "--drop-missing-labels to leave them out")
            dropped = int(missing.sum())
            X, y = X[~missing], y[~missing]
        if lines is not None:  # a CSV's label strings, typed as pandas would type them
            y = _labels(y.tolist())
        elif y.dtype.kind == "O":  # Arrow strings come back as Python objects
            y = y.astype(str)
    return X, y, names, dropped


def read_column(path, name):
    """One column of a CSV (with a header row) or Parquet file, as a NumPy array of its
    values (strings for a CSV): the clusters of ``gpulogreg summary --groups``."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=[name]) if name in pq.read_schema(path).names \
            else None
        if table is None:
            raise ValueError(f"--groups {name!r} is not a column of {path}")
        return table.column(name).to_numpy(zero_copy_only=False)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise ValueError(f"--groups names a column: {path} is not a CSV or Parquet file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, skipinitialspace=True)
        names = [field.strip() for field in next(reader, [])]
        if name not in names:
            raise ValueError(f"--groups {name!r} is not a column of {path}")
        column = names.index(name)
        return np.array([row[column].strip() for row in reader if row and row != [""]])


def _missing(y):
    """Which labels are missing: NaN (or None) in numbers and objects, the MISSING words in
    strings."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind in "US":
        return np.isin(np.char.strip(y.astype(str)), list(MISSING))
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v)
                         or (isinstance(v, str) and v.strip() in MISSING) for v in y.tolist()],
                        dtype=bool)
    return np.zeros(y.shape, dtype=bool)


def _read_table(path, target, shape, dtype, columns):
    """``(X, y, names, lines)``: ``read_table`` before missing labels are looked at;
    ``lines`` are the file lines of a CSV's rows (else None)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if shape is not None:
            table = np.memmap(path, dtype=dtype, mode="r", shape=shape)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                if "X" not in data.files:
                    raise ValueError(f"{path} holds {sorted(data.files)}; expected arrays 'X' "
                                     "(and 'y' for fit)")
                return data["X"], (data["y"] if "y" in data.files else None), None, None
        elif suffix == ".npy":
            table = np.load(path, allow_pickle=False)
            if table.ndim != 2:
                raise ValueError(f"{path} holds a {table.ndim}-D array; expected a 2-D table")
        elif suffix in (".csv", ".txt"):
            return _read_csv(path, target, columns)
        elif suffix in (".parquet", ".pq"):
            return (*_read_parquet(path, target, columns), None)
        else:
            raise ValueError(f"{path}: unknown data format {suffix!r}; use .csv (with a header "
                             "row), .npy, .npz, .parquet, or a raw binary file with --shape")
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if target is None:
        return table, None, None, None
    positions = [str(i) for i in range(table.shape[1])]
    if target not in positions:
        raise ValueError(f"--target {target!r} is not a column index of {path}, which has "
                         f"{table.shape[1]} columns (0 to {table.shape[1] - 1})")
    column = positions.index(target)
    if column in (0, len(positions) - 1):  # a view of the other columns: X is not copied
        features = slice(1, None) if column == 0 else slice(None, -1)
        return table[:, features], np.asarray(table[:, column]), None, None
    if isinstance(table, np.memmap):
        raise ValueError(f"--target {target}: for a raw file the label column must be the "
                         "first or the last, so that the features are read in place")
    features = [i for i in range(table.shape[1]) if i != column]
    return table[:, features], table[:, column], None, None


_CSV_BLOCK_ROWS = 1 << 14  # rows parsed to strings before they are converted to numbers


def _check_header(path, names, target, columns=None):
    """The header's names: none empty or repeated, ``target`` among them; return the indices
    of the features: ``columns`` (names) in their order, else every column but the target."""
    if not names or not any(names):
        raise ValueError(f"{path} is empty; expected a header row of column names")
    seen, repeated = set(), []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise ValueError(f"{path}: the header names {repeated} more than once; every column "
                         "needs a name of its own")
    if "" in names:
        raise ValueError(f"{path}: column {names.index('') + 1} of the header has no name")
    shown = f"{names[:20]}{' ...' if len(names) > 20 else ''}"
    if target is not None and target not in names:
        raise ValueError(f"--target {target!r} is not a column of {path}; its columns are "
                         f"{shown}")
    if columns is None:
        return [i for i, name in enumerate(names) if name != target]
    missing = [name for name in columns if name not in names]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing[:20]} the model was fitted on; "
                         f"its columns are {shown}")
    index = {name: i for i, name in enumerate(names)}
    return [index[name] for name in columns]


def _labels(values):
    """Label strings as pandas would read them: integers if all are, else numbers if all
    are, else the strings themselves."""
    strings = np.array(values, dtype=str)
    for kind in (np.int64, np.float64):
        try:
            return strings.astype(kind)
        except (ValueError, OverflowError):
            pass
    return strings


def _read_csv(path, target, columns=None):
    """``(X, y, names, dropped)`` from a CSV file with a header row, read with Python's ``csv``
    module (RFC 4180 quoting; no comment lines: a '#' is data), a block of rows at a time.
    Every row must have as many fields as the header, every feature value must be a number;
    the labels keep their own values (integers, numbers or strings); blank lines are
    skipped."""
    with open(path, newline="", encoding="utf-8-sig") as f:  # Excel's "CSV UTF-8" has a BOM
        reader = csv.reader(f, skipinitialspace=True)
        names = [name.strip() for name in next(reader, [])]
        features = _check_header(path, names, target, columns)
        column = None if target is None else names.index(target)
        blocks, labels, label_lines, rows, lines = [], [], [], [], []

        def convert():
            table = np.array(rows, dtype=str).reshape(len(rows), len(names))
            try:
                blocks.append(table[:, features].astype(np.float64))
            except ValueError:  # find the first field that is not a number, for the message
                for line, row in zip(lines, rows):
                    for i in features:
                        try:
                            float(row[i])
                        except ValueError:
                            raise ValueError(f"{path}, line {line}: column {names[i]!r} holds "
                                             f"{row[i]!r}, not a number") from None
                raise
            if column is not None:
                labels.extend(table[:, column].tolist())
                label_lines.extend(lines)
            rows.clear()
            lines.clear()

        for row in reader:
            if not row or row == [""]:
                continue
            if len(row) != len(names):
                raise ValueError(f"{path}, line {reader.line_num}: {len(row)} fields, but the "
                                 f"header names {len(names)} columns")
            rows.append([field.strip() for field in row])
            lines.append(reader.line_num)
            if len(rows) == _CSV_BLOCK_ROWS:
                convert()
        if rows:
            convert()
    if not blocks:
        raise ValueError(f"{path} has a header but no data rows")
    X = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    y = None if column is None else np.array(labels, dtype=str)  # typed by read_table
    return X, y, [names[i] for i in features], label_lines


def _read_parquet(path, target, columns=None):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"reading {path} needs pyarrow: pip install 'gpulogreg[parquet]'") \
            from None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    names = list(table.column_names)
    features = [names[i] for i in _check_header(path, names, target, columns)]
    if table.num_rows == 0:
        raise ValueError(f"{path} has columns but no rows")
    import pyarrow.types as types

    kinds = {name: table.schema.field(name).type for name in features}
    bad = [f"{name} ({kind})" for name, kind in kinds.items()
           if not (types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind))]
    if bad:
        raise ValueError(f"{path}: feature columns must be numbers; {', '.join(bad[:10])}"
                         f"{' ...' if len(bad) > 10 else ''} {'is' if len(bad) == 1 else 'are'} "
                         "not (convert or drop them)")
    nulls = [name for name in features if table.column(name).null_count]
    if nulls:
        raise ValueError(f"{path}: feature column(s) {nulls[:10]} hold nulls; impute or drop "
                         "them")
    X = np.column_stack([table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                         for name in features])
    y = None if target is None else table.column(target).to_numpy(zero_copy_only=False)
    return X, y, features  # Arrow strings come back as Python objects (None for a null)
