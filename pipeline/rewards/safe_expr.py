"""Plain-text math (``x**2 + 1``, ``2(x+1)^3``, ``sqrt(3)/2``, ``5!``) to sympy objects, with no Python evaluation.

This is the math reward's symbolic fallback for answers that math-verify's LaTeX parser does not read. It
replaces ``sympy.parsing.sympy_parser.parse_expr``, which is ``eval`` with every Python builtin in its
namespace: an answer such as ``__import__('os').system('id')`` ran as the scoring user.

The text is tokenised against a whitelist and parsed by the grammar below; every other character (quotes,
underscores, commas, dots outside numbers, backslashes, ``=``, ``@``, …) rejects the whole answer. The
parser builds sympy objects directly (``Integer``, ``Rational``, ``Symbol``, ``Add``, ``Mul``, ``Pow`` and the
functions of :data:`FUNCTIONS`): no text reaches ``eval``, ``exec``, ``sympify`` or ``parse_expr``.

Grammar (implicit multiplication as in ``parse_expr``'s ``implicit_multiplication_application``)::

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | <juxtaposition>) unary)*
    unary   := ("+" | "-") unary | power
    power   := postfix (("^" | "**") unary)?          # right-associative: 2^3^2 = 2^9
    postfix := atom "!"*
    atom    := NUMBER | LETTER | CONSTANT | FUNCTION "(" sum ")" | FUNCTION postfix | "(" sum ")" | "[" sum "]"

A run of letters is read as the longest known function or constant names and single-letter symbols
(``xy`` = x·y, ``sqrtx`` = sqrt(x)). Decimals are exact rationals (``0.5`` = 1/2).

Bounds, so that no answer can make the build explode: at most :data:`MAX_CHARS` characters and
:data:`MAX_DEPTH` nested levels; a power of two numbers whose result would exceed :data:`MAX_BITS` bits, a
power of anything else with an integer exponent above :data:`MAX_EXPONENT`, and a factorial above
:data:`MAX_FACTORIAL` are rejected. What remains (``simplify``) runs under the verifier's deadline and
address-space limit (:mod:`pipeline.rewards.deadline`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable

import sympy

MAX_CHARS = 500
MAX_DEPTH = 40
MAX_BITS = 20_000
MAX_EXPONENT = 1_000
MAX_FACTORIAL = 1_000

FUNCTIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "abs": sympy.Abs,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec, "csc": sympy.csc,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "floor": sympy.floor, "ceil": sympy.ceiling, "ceiling": sympy.ceiling,
}
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "oo": sympy.oo, "infinity": sympy.oo, "inf": sympy.oo}
NAMES = sorted([*FUNCTIONS, *CONSTANTS], key=len, reverse=True)  # longest first
TOKEN = re.compile(r"\s+|(?P<number>\d+(?:\.\d*)?|\.\d+)|(?P<letters>[A-Za-z]+)|(?P<op>\*\*|[-+*/^()\[\]!])")
CLOSE = {"(": ")", "[": "]"}


class Rejected(ValueError):
    """The text is not admitted (outside the whitelist, the grammar or the bounds)."""


def tokenize(text: str) -> list[tuple[str, str]]:
    """``(kind, text)`` tokens: ``number``, ``name`` (a function or constant), ``symbol`` (one letter), ``op``."""
    if len(text) > MAX_CHARS:
        raise Rejected(f"longer than {MAX_CHARS} characters")
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise Rejected(f"character {text[pos]!r} is not admitted")
        pos = match.end()
        if match.group("number"):
            tokens.append(("number", match.group("number")))
        elif match.group("letters"):
            tokens.extend(_split_letters(match.group("letters")))
        elif match.group("op"):
            tokens.append(("op", match.group("op")))
    return tokens


def _split_letters(run: str) -> list[tuple[str, str]]:
    out, i = [], 0
    while i < len(run):
        name = next((n for n in NAMES if run.startswith(n, i)), None)
        if name:
            out.append(("name", name))
            i += len(name)
        else:
            out.append(("symbol", run[i]))
            i += 1
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i, self.depth = tokens, 0, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Rejected("unexpected end")
        self.i += 1
        return token

    def expect(self, op: str) -> None:
        if self.take() != ("op", op):
            raise Rejected(f"expected {op!r}")

    def nested(self, parse: Callable[[], sympy.Expr]) -> sympy.Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Rejected(f"nested deeper than {MAX_DEPTH}")
        try:
            return parse()
        finally:
            self.depth -= 1

    def sum(self) -> sympy.Expr:
        value = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            sign = self.take()[1]
            term = self.product()
            value = sympy.Add(value, term if sign == "+" else -term)
        return value

    def starts_atom(self) -> bool:
        token = self.peek()
        return token is not None and (token[0] != "op" or token[1] in CLOSE)

    def product(self) -> sympy.Expr:
        value = self.unary()
        while True:
            token = self.peek()
            if token in (("op", "*"), ("op", "/")):
                self.take()
                factor = self.unary()
                value = sympy.Mul(value, factor if token[1] == "*" else sympy.Pow(factor, -1))
            elif self.starts_atom():  # juxtaposition: 2x, 2(x+1), x y
                value = sympy.Mul(value, self.unary())
            else:
                return value

    def unary(self) -> sympy.Expr:
        if self.peek() in (("op", "+"), ("op", "-")):
            sign = self.take()[1]
            value = self.nested(self.unary)
            return value if sign == "+" else -value
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.postfix()
        if self.peek() in (("op", "^"), ("op", "**")):
            self.take()
            return bounded_power(base, self.nested(self.unary))
        return base

    def postfix(self) -> sympy.Expr:
        value = self.atom()
        while self.peek() == ("op", "!"):
            self.take()
            value = bounded_factorial(value)
        return value

    def atom(self) -> sympy.Expr:
        kind, text = self.take()
        if kind == "number":
            return number(text)
        if kind == "symbol":
            return sympy.Symbol(text)
        if kind == "name" and text in CONSTANTS:
            return CONSTANTS[text]
        if kind == "name":
            if self.peek() in (("op", "("), ("op", "[")):
                return FUNCTIONS[text](self.nested(self.atom))
            return FUNCTIONS[text](self.nested(self.postfix))  # sqrt 2, sin x
        if text in CLOSE:
            value = self.nested(self.sum)
            self.expect(CLOSE[text])
            return value
        raise Rejected(f"unexpected {text!r}")


def number(text: str) -> sympy.Expr:
    """An exact number: ``Integer`` or, for a decimal, the ``Rational`` it denotes (``0.5`` = 1/2)."""
    value = Fraction(text)
    return sympy.Integer(value.numerator) if value.denominator == 1 else sympy.Rational(value.numerator,
                                                                                         value.denominator)


def bounded_power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """``base ** exponent``, refused when its evaluation could explode (see the module's bounds)."""
    if exponent.is_Number and base.is_Number:
        if abs(exponent) > MAX_BITS or abs(exponent) * _bits(base) > MAX_BITS:
            raise Rejected(f"a power of more than {MAX_BITS} bits")
    elif exponent.is_Integer and abs(int(exponent)) > MAX_EXPONENT:
        raise Rejected(f"an integer exponent above {MAX_EXPONENT}")
    return sympy.Pow(base, exponent)


def _bits(value: sympy.Expr) -> int:
    """Bits of a rational's numerator or denominator, whichever is longer (at least 1)."""
    p, q = sympy.fraction(sympy.Rational(value))
    return max(int(p).bit_length(), int(q).bit_length(), 1)


def bounded_factorial(value: sympy.Expr) -> sympy.Expr:
    if value.is_Number and not (value.is_Integer and 0 <= int(value) <= MAX_FACTORIAL):
        raise Rejected(f"a factorial of a number other than an integer in [0, {MAX_FACTORIAL}]")
    return sympy.factorial(value)


def parse_plain(text: str) -> sympy.Expr:
    """The sympy expression of ``text`` (``^`` is a power); :class:`Rejected` when it is not admitted."""
    tokens = tokenize(text)
    if not tokens:
        raise Rejected("empty")
    parser = _Parser(tokens)
    value = parser.sum()
    if (rest := parser.peek()) is not None:
        raise Rejected(f"unexpected {rest[1]!r}")
    return value


def symbolic_equal(gold: str, pred: str) -> bool:
    """``simplify(gold − pred) = 0`` for two admitted plain-text expressions; False when either is rejected."""
    try:
        a, b = parse_plain(gold), parse_plain(pred)
    except (Rejected, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return False
    try:
        return bool(sympy.simplify(a - b) == 0)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError, AttributeError):
        return False
