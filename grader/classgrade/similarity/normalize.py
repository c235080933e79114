"""A function's code as tokens a copier cannot cheaply change, each with its line.

After :func:`~grader.classgrade.similarity.rewrite.canonical`, the syntax tree is read in
pre-order, one token per node, so comments and layout are gone, and:

* every name the code assigns or takes as a parameter is ``V``, every function of the
  student's own in the code is ``F``; other names (``np``, ``range``, ``conv_matrix``) stay;
* numbers are ``NUM``, strings ``STR``;
* ``np.sum(x)``, ``numpy.sum(x)`` and ``x.sum()`` are one token ``call:sum`` followed by
  ``x``'s tokens; ``range(0, n)`` is ``range(n)``;
* the operands of ``+``, ``*``, ``&``, ``|`` are put in one order, and ``a > b`` is ``b < a``.
"""

from __future__ import annotations

import ast
import zlib

from grader.classgrade.similarity.rewrite import canonical

MODULES = frozenset({"np", "numpy", "math", "scipy"})
_COMMUTATIVE = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr)
_FLIPPED = {ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_SKIPPED = (ast.expr_context,)

Token = tuple[str, int]   # (text, line in the code it came from)


def tokens(code: str) -> list[Token]:
    """The normalised tokens of ``code`` (a module: functions, statements), empty if it does
    not parse."""
    try:
        tree = canonical(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    stored = {node.id for node in ast.walk(tree)
              if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    stored |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    helpers = {node.name for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    try:
        return _Reader(stored, helpers).read(tree)
    except RecursionError:
        return []


def token_ids(found: list[Token]) -> list[int]:
    """A stable 32-bit number per token (the same in every process and on every machine)."""
    return [zlib.crc32(text.encode()) for text, _ in found]


class _Reader:
    def __init__(self, stored: set, helpers: set):
        self.stored, self.helpers = stored, helpers

    def name(self, name: str) -> str:
        if name in self.helpers:
            return "F"
        return "V" if name in self.stored else name

    def is_module(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in MODULES and node.id not in self.stored
        return isinstance(node, ast.Attribute) and self.is_module(node.value)

    def read(self, node: ast.AST) -> list[Token]:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name):
            return [(self.name(node.id), line)]
        if isinstance(node, ast.Constant):
            value = node.value
            kind = ("STR" if isinstance(value, (str, bytes)) else
                    repr(value) if value is None or isinstance(value, bool) else "NUM")
            return [(kind, line)]
        if isinstance(node, ast.Attribute):
            base = [] if self.is_module(node.value) else self.read(node.value)
            return base + [("." + node.attr, line)]
        if isinstance(node, ast.Call):
            return self.call(node, line)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            head = [("def" if not isinstance(node, ast.ClassDef) else "class", line)]
            return head + self.children(node, skip=("decorator_list",)) + [("end", line)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, _COMMUTATIVE):
            parts = sorted([self.read(node.left), self.read(node.right)],
                           key=lambda part: [text for text, _ in part])
            return [(type(node.op).__name__, line)] + parts[0] + parts[1]
        if (isinstance(node, ast.Compare) and len(node.ops) == 1
                and type(node.ops[0]) in _FLIPPED):
            flipped = _FLIPPED[type(node.ops[0])].__name__
            return ([("Compare", line)] + self.read(node.comparators[0]) + [(flipped, line)]
                    + self.read(node.left))
        own = [(type(node).__name__, line)]
        closing = [("end", line)] if isinstance(node, (ast.For, ast.While, ast.If, ast.With,
                                                        ast.Try)) else []
        return own + self.children(node) + closing

    def children(self, node: ast.AST, skip=()) -> list[Token]:
        out: list[Token] = []
        for field, value in ast.iter_fields(node):
            if field in skip or field == "name":
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and not isinstance(child, _SKIPPED):
                    out += self.read(child)
        return out

    def call(self, node: ast.Call, line: int) -> list[Token]:
        func, args = node.func, list(node.args)
        if isinstance(func, ast.Attribute):
            name = func.attr
            if not self.is_module(func.value):
                args.insert(0, func.value)  # x.sum() is sum(x)
        elif isinstance(func, ast.Name):
            name = self.name(func.id)
        else:
            name, args = "call", [func] + args
        if (name == "range" and len(args) == 2 and isinstance(args[0], ast.Constant)
                and args[0].value == 0):
            args = args[1:]
        out = [("call:" + name, line)]
        for arg in args:
            out += self.read(arg)
        for keyword in node.keywords:
            out += [("kw:" + str(keyword.arg), line)] + self.read(keyword.value)
        return out + [(")", line)]
