"""Reading any CSV: column typing, missing values, target rules and exclusions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from puhui.risk.scorecard.dataset import (
    CategoricalColumn,
    NumericColumn,
    TargetRule,
    load_csv,
)
from puhui.risk.scorecard.errors import ScorecardDataError


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_are_typed_and_missing_spellings_recognised(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,amount,city,flag,empty,const,y\n"
        "a1,10.5,北京,x,,7,1\n"
        "a2,NA,上海,y,NA,7,0\n"
        "a3,null,N/A,x,,7,yes\n"
        "a4,3,北京,y,null,7,no\n",
    )
    dataset = load_csv(path, target="y")
    amount = dataset.columns["amount"]
    assert isinstance(amount, NumericColumn)
    assert np.isnan(amount.values).tolist() == [False, True, True, False]
    city = dataset.columns["city"]
    assert isinstance(city, CategoricalColumn)
    assert city.values.tolist() == ["北京", "上海", None, "北京"]
    reasons = {item.name: item.reason for item in dataset.excluded}
    assert reasons["id"].startswith("identifier-like")
    assert reasons["empty"].startswith("empty")
    assert reasons["const"].startswith("constant")
    assert dataset.bad.tolist() == [1, 0, 1, 0]
    assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_and_explicit_bad_values() -> None:
    default = TargetRule()
    assert [default.is_bad(v) for v in ("1", "1.0", "BAD", "Yes", "true", "0", "good")] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    explicit = TargetRule("default")
    assert explicit.is_bad(" Default ")
    assert not explicit.is_bad("1")
    assert TargetRule("2").is_bad("2.0")


def test_rows_without_a_target_are_set_aside_and_counted(tmp_path: Path) -> None:
    path = _csv(tmp_path, "x,y\n1,1\n2,\n3,0\n4,NA\n5,1\n")
    dataset = load_csv(path, target="y")
    assert dataset.n_rows == 3
    assert dataset.rows_without_target == 2


def test_semicolon_files_and_byte_order_marks_are_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffx;cat;y\n1,5;a;1\n2,5;b;0\n1,5;a;0\n".encode())
    dataset = load_csv(path, target="y")
    assert set(dataset.columns) == {"x", "cat"}
    assert isinstance(dataset.columns["x"], CategoricalColumn)  # decimal commas stay text


def test_analyst_exclusions_and_unknown_names(tmp_path: Path) -> None:
    path = _csv(tmp_path, "x,gender,y\n1,f,1\n2,m,0\n3,f,0\n")
    dataset = load_csv(path, target="y", exclude=["gender"])
    assert "gender" not in dataset.columns
    assert ("gender", "excluded by the analyst") in [(e.name, e.reason) for e in dataset.excluded]
    with pytest.raises(ScorecardDataError, match="unknown column"):
        load_csv(path, target="y", exclude=["age"])


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    binary = tmp_path / "data.csv"
    binary.write_bytes(b"x,y\n\xff\xfe,1\n")
    with pytest.raises(ScorecardDataError, match="not UTF-8"):
        load_csv(binary, target="y")
    with pytest.raises(ScorecardDataError, match="twice"):
        load_csv(_csv(tmp_path, "x,x,y\n1,2,1\n"), target="y")
