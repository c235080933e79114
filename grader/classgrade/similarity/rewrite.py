"""Rewrite a syntax tree into one canonical form of what a copier changes at no cost.

* ``a += b`` becomes ``a = a + b``;
* a counted ``while`` (``i = 0`` ... ``while i < n:`` ... ``i += 1``) becomes
  ``for i in range(n)``;
* dead code goes: ``pass``, bare constants (docstrings), ``print(...)`` statements, the branch
  of an ``if`` on a constant that never runs, statements after ``return``/``raise``/
  ``continue``/``break``, loops and ``if``\\ s left empty, and assignments to names never read.

The tree is changed in place; only its meaning for comparison is kept (the result is not
meant to run).
"""

from __future__ import annotations

import ast

_ENDS_BLOCK = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_BLOCK_FIELDS = ("body", "orelse", "finalbody")
MAX_DEAD_STORE_PASSES = 10


def canonical(tree: ast.Module) -> ast.Module:
    """``tree`` rewritten in place (see the module's docstring), and returned."""
    tree.body = _Blocks(_named_constants(tree)).block(tree.body)
    for _ in range(MAX_DEAD_STORE_PASSES):
        if not _drop_dead_stores(tree):
            break
    return tree


def _named_constants(tree: ast.AST) -> dict:
    """``{name: value}`` of the names assigned once in ``tree``, to a constant (``debug = False``)."""
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.arg):
            stores[node.arg] = stores.get(node.arg, 0) + 2  # a parameter is never a constant
    return {node.targets[0].id: node.value.value for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
            and stores.get(node.targets[0].id) == 1}


def _is_noise(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if not isinstance(stmt, ast.Expr):
        return False
    value = stmt.value
    return isinstance(value, ast.Constant) or (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print")


class _Blocks:
    """Dead branches, ``+=`` and counted ``while`` loops, block by block."""

    def __init__(self, constants: dict):
        self.constants = constants

    def truth(self, test: ast.expr) -> bool | None:
        """True or False when ``test`` is constant (``False``, ``0``, ``not True``, a name
        assigned once to a constant), else None."""
        if isinstance(test, ast.Constant):
            return bool(test.value)
        if isinstance(test, ast.Name) and test.id in self.constants:
            return bool(self.constants[test.id])
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self.truth(test.operand)
            return None if inner is None else not inner
        return None

    def block(self, stmts: list) -> list:
        out: list = []
        for stmt in stmts:
            out += self.statement(stmt)
            if out and isinstance(out[-1], _ENDS_BLOCK):
                break
        return _while_to_for(out)

    def statement(self, stmt: ast.stmt) -> list:
        if _is_noise(stmt):
            return []
        if isinstance(stmt, (ast.If, ast.While)):
            truth = self.truth(stmt.test)
            if truth is False or (truth is True and isinstance(stmt, ast.If)):
                return self.block(stmt.body if truth else stmt.orelse)
        if isinstance(stmt, ast.AugAssign):
            load = _as_load(stmt.target)
            value = ast.copy_location(ast.BinOp(left=load, op=stmt.op, right=stmt.value), stmt)
            return [ast.copy_location(ast.Assign(targets=[stmt.target], value=value), stmt)]
        for name in _BLOCK_FIELDS:
            if isinstance(getattr(stmt, name, None), list):
                setattr(stmt, name, self.block(getattr(stmt, name)))
        for handler in getattr(stmt, "handlers", ()):
            handler.body = self.block(handler.body)
        if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With)) and not stmt.body:
            return self.block(getattr(stmt, "orelse", [])) if isinstance(stmt, ast.If) else []
        return [stmt]


def _as_load(target: ast.expr) -> ast.expr:
    copy = ast.parse(ast.unparse(target), mode="eval").body
    for node in ast.walk(copy):
        if hasattr(node, "lineno"):
            ast.copy_location(node, target)
    return copy


def _counter_step(stmt: ast.stmt, name: str) -> bool:
    """Whether ``stmt`` is ``name = name + 1`` (``name += 1`` after rewriting)."""
    return (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == name
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Add)
            and isinstance(stmt.value.left, ast.Name) and stmt.value.left.id == name
            and isinstance(stmt.value.right, ast.Constant) and stmt.value.right.value == 1)


def _while_to_for(stmts: list) -> list:
    out: list = []
    for stmt in stmts:
        loop = _counted_loop(stmt)
        if loop is None:
            out.append(stmt)
            continue
        name, bound = loop
        start = None
        for index in range(len(out) - 1, -1, -1):  # the nearest ``name = constant`` before it
            earlier = out[index]
            if (isinstance(earlier, ast.Assign) and len(earlier.targets) == 1
                    and isinstance(earlier.targets[0], ast.Name) and earlier.targets[0].id == name
                    and isinstance(earlier.value, ast.Constant)):
                start = out.pop(index).value
                break
        args = [bound] if start is None or start.value == 0 else [start, bound]
        iterator = ast.copy_location(
            ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=args, keywords=[]), stmt)
        target = ast.copy_location(ast.Name(id=name, ctx=ast.Store()), stmt)
        out.append(ast.copy_location(ast.For(target=target, iter=iterator, body=stmt.body[:-1],
                                             orelse=[], type_comment=None), stmt))
    return out


def _counted_loop(stmt: ast.stmt) -> tuple[str, ast.expr] | None:
    """``(counter, bound)`` of ``while counter < bound: ...; counter += 1``, else None."""
    if not (isinstance(stmt, ast.While) and not stmt.orelse and len(stmt.body) > 1):
        return None
    test = stmt.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name)
            and isinstance(test.ops[0], (ast.Lt, ast.LtE))):
        return None
    name = test.left.id
    if not _counter_step(stmt.body[-1], name):
        return None
    bound = test.comparators[0]
    if isinstance(test.ops[0], ast.LtE):
        bound = ast.copy_location(ast.BinOp(left=bound, op=ast.Add(), right=ast.Constant(1)), bound)
    return name, bound


def _drop_dead_stores(tree: ast.AST) -> bool:
    """Remove assignments whose every target is a name never read; whether any was removed."""
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}
    read |= {name for n in ast.walk(tree) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
    changed = False
    for node in ast.walk(tree):
        for name in _BLOCK_FIELDS:
            stmts = getattr(node, name, None)
            if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], ast.stmt):
                continue
            kept = [s for s in stmts if not _dead_store(s, read)]
            if len(kept) != len(stmts):
                setattr(node, name, kept or [ast.Pass()])
                changed = True
    return changed


def _dead_store(stmt: ast.stmt, read: set) -> bool:
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return False
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    names = []
    for target in targets:
        elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        if not all(isinstance(e, ast.Name) for e in elements):
            return False
        names += [e.id for e in elements]
    return not any(name in read for name in names)
