"""The boundary validators accept every real number type (NumPy scalars included, without
lemmata.analysis importing NumPy) and refuse bool, NaN, infinities, complex numbers and strings."""

from decimal import Decimal
from fractions import Fraction

import pytest

from lemmata.analysis.validation import (nonnegative_finite, nonnegative_int, one_of, positive_finite,
                                         positive_int)

np = pytest.importorskip("numpy")


@pytest.mark.parametrize("value", [np.float32(0.01), np.float16(2), np.float64(1e-300), np.int8(3),
                                   np.uint16(7), np.array(0.5), Fraction(1, 3), Decimal("0.2"), 0.1, 3])
def test_positive_reals_of_any_type_are_accepted(value):
    assert positive_finite("dt", value) == float(value)
    assert nonnegative_finite("dt", value) == float(value)


@pytest.mark.parametrize("value", [True, np.bool_(True), float("nan"), np.float32("nan"), np.float64("inf"),
                                   -0.01, 0, 1j, np.complex64(1), "1", np.array([1.0]), None])
def test_bad_values_are_refused_with_the_name(value):
    with pytest.raises(ValueError, match="`dt` must be positive and finite; got"):
        positive_finite("dt", value)


def test_integers():
    assert positive_int("n", np.int64(4)) == 4 and nonnegative_int("k", np.uint8(0)) == 0
    for bad in (3.0, True, np.float64(2), -1, np.array([1]), "2"):
        with pytest.raises(ValueError, match="`n` must be a positive integer"):
            positive_int("n", bad)
    with pytest.raises(ValueError, match="`k` must be a non-negative integer; got -1."):
        nonnegative_int("k", -1)


def test_one_of_refuses_unhashable_and_arrays():
    with pytest.raises(ValueError, match="`mode` must be one of 'a', 'b'"):
        one_of("mode", ["a"], {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="`mode`"):
        one_of("mode", np.array([1, 2]), ("a", "b"))
