"""The whitelist parser of plain-text math: what it admits and builds, what it rejects, and its bounds."""

from __future__ import annotations

import pytest
import sympy

from pipeline.rewards.safe_expr import (MAX_CHARS, MAX_DEPTH, Rejected, parse_plain, symbolic_equal, tokenize)

x, y = sympy.symbols("x y")


@pytest.mark.parametrize("text, expected", [
    ("2x^2", 2 * x**2),                       # juxtaposition binds looser than ^
    ("-x^2", -(x**2)),                        # unary minus looser than ^
    ("2^3^2", sympy.Integer(512)),            # ^ is right-associative
    ("2**-1", sympy.Rational(1, 2)),
    ("0.25", sympy.Rational(1, 4)),           # decimals are exact
    ("033", sympy.Integer(33)),               # one number, not 0·33
    ("xy", x * y),                            # a letter run splits into symbols...
    ("sqrtx", sympy.sqrt(x)),                 # ...and known names
    ("sqrt 2", sympy.sqrt(2)),
    ("2(x+1)", 2 * x + 2),
    ("[x+1]/2", (x + 1) / 2),
    ("3!", sympy.Integer(6)),
    ("pi/2", sympy.pi / 2),
    ("ln(y)", sympy.log(y)),
])
def test_grammar_on_hand_computed_cases(text, expected):
    assert sympy.simplify(parse_plain(text) - expected) == 0


@pytest.mark.parametrize("text", [
    "__import__('os')", "x.real", "a_b", "f(x)=1", "1,000", "\\frac{1}{2}", "x; y", "lambda: 0", "'1'", "1 @ 2",
    "$1$", "x # y", "ｅｖａｌ(1)",             # fullwidth letters: Python would NFKC-normalise them to eval
])
def test_characters_outside_the_whitelist_reject_the_answer(text):
    with pytest.raises(Rejected, match="not admitted"):
        tokenize(text)


@pytest.mark.parametrize("text, reason", [
    ("9^9^9", "bits"), ("2^100000", "bits"), ("x^5000", "exponent"), ("1001!", "factorial"), ("(1/2)!", "factorial"),
    ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nested"), ("-" * (MAX_DEPTH + 1) + "1", "nested"),
    ("1+" * MAX_CHARS + "1", "longer"), ("(1+2", "expected"), ("1+", "end"), ("1 2 )", "unexpected"),
])
def test_bounds_and_grammar_errors_reject(text, reason):
    with pytest.raises(Rejected, match=reason):
        parse_plain(text)


def test_symbolic_equality():
    assert symbolic_equal("x^2+2x+1", "(x+1)**2") and symbolic_equal("16", "2**4")
    assert symbolic_equal("0.1+0.2", "0.3") and symbolic_equal("sin(x)^2+cos(x)^2", "1")
    assert not symbolic_equal("033", "045")  # parse_expr read both as 0·33 = 0·45: a false positive
    assert not symbolic_equal("x", "y") and not symbolic_equal("1/3", "0.333")
    assert not symbolic_equal("9^9^9", "9^9^9")  # rejected, not computed
    assert not symbolic_equal("__import__('os').system('true')", "0")
