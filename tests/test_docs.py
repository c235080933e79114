"""The README and the guides in docs/: what they tell a reader to type exists, and they stay
readable.

The README is one screen that opens with the kit's two commands; every link to a local file
or anchor resolves; every ``python -m grader`` command and flag, every ``make`` target and
every test file a guide mentions exists; every command and option of the CLI is documented
somewhere.
"""

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from grader import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 80

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
GRADER = re.compile(r"python -m grader\b(.*)")
MAKE = re.compile(r"(?:^|sudo\s+)make\s+([a-z][\w-]*)")
TEST_FILE = re.compile(r"(?<![\w/])(test_\w+\.py)\b")
KIT_PATH = re.compile(r"^(?:grader|tests|scripts|bench|solutions|examples|data|images|docs)/[\w./-]*$")


def split(text: str) -> tuple[str, list[str]]:
    """``(prose, commands)``: the text outside fenced blocks, and each command line of the
    blocks (continuation lines joined, comments dropped)."""
    commands = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s)#.*", "", line).strip()
            if line:
                commands.append(line)
    return FENCE.sub("", text), commands


def snippets(page: Path) -> list[str]:
    """Every piece of code on ``page``: the inline spans of its prose and its blocks' lines."""
    prose, commands = split(page.read_text(encoding="utf-8"))
    return [" ".join(span.split()) for span in SPAN.findall(prose)] + commands


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    prose, _ = split(page.read_text(encoding="utf-8"))
    seen, found = {}, set()
    for heading in HEADING.findall(prose):
        base = slug(heading)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


def subcommands(parser: argparse.ArgumentParser) -> dict:
    return next((action.choices for action in parser._actions
                 if isinstance(action, argparse._SubParsersAction)), {})


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def grader_parsers() -> dict[str, argparse.ArgumentParser]:
    """``{"grade": parser, "server add-users": parser, ...}``: every command of the CLI."""
    found = {}
    for name, parser in subcommands(cli.build_parser()).items():
        found[name] = parser
        for action, nested in subcommands(parser).items():
            found[f"{name} {action}"] = nested
    return found


def dask_options() -> dict[str, set[str]]:
    """The options of ``dask scheduler`` and ``dask worker``, from their click commands."""
    scheduler = pytest.importorskip("distributed.cli.dask_scheduler")
    worker = pytest.importorskip("distributed.cli.dask_worker")
    return {name: {opt for param in command.main.params for opt in param.opts + param.secondary_opts
                   if opt.startswith("-")}
            for name, command in (("scheduler", scheduler), ("worker", worker))}


def bench_options() -> set[str]:
    source = (ROOT / "bench" / "__main__.py").read_text(encoding="utf-8")
    return {"-h", "--help", *re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", source)}


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.M))


def grader_command(snippet: str) -> tuple[str | None, str]:
    """``(command, rest)`` of a ``python -m grader ...`` snippet; command None when bare."""
    rest = GRADER.search(snippet).group(1).split()
    if not rest or rest[0].startswith("-"):
        return None, " ".join(rest)
    if rest[0] == "server" and len(rest) > 1 and not rest[1].startswith("-"):
        return f"server {rest[1]}", " ".join(rest[2:])
    return rest[0], " ".join(rest[1:])


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_readme_opens_with_the_two_commands_and_stays_one_screen():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it under {README_MAX_LINES}: move the detail "
        "into a guide in docs/ and link to it")
    opening = [line.split("#")[0].strip() for line in lines[:6]]
    start = opening.index("```bash") + 1
    assert opening[start:start + 2] == ["make grade", "make test"], opening


def test_every_guide_is_in_the_index_and_the_readme_leads_to_the_index():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    guides = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert len(guides) >= 7
    assert [name for name in guides if f"]({name})" not in index] == []
    assert "](docs/README.md)" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_local_link_and_anchor_resolves(page):
    prose, _ = split(page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {linked.name}")
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_grader_command_and_flag_exists(page):
    parsers, dask, bench = grader_parsers(), dask_options(), bench_options()
    every_flag = set().union(*map(options, parsers.values()), *dask.values())
    wrong = []
    for snippet in snippets(page):
        if GRADER.search(snippet):
            command, rest = grader_command(snippet)
            if command is not None and command not in parsers:
                wrong.append(f"{snippet}: no command {command!r}")
                continue
            known = options(parsers[command] if command else cli.build_parser())
        elif m := re.search(r"\bdask (scheduler|worker)\b", snippet):
            known, rest = dask[m.group(1)], snippet[m.end():]
        elif m := re.search(r"python -m bench\b", snippet):
            known, rest = bench, snippet[m.end():]
        elif snippet.startswith("-"):
            known, rest = every_flag, snippet  # a flag named in prose: some command has it
        else:
            continue  # another program (openssl, make, pip ...): its flags are its own
        wrong += [f"{snippet}: no flag {flag}" for flag in FLAG.findall(rest) if flag not in known]
    assert wrong == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_make_target_exists(page):
    targets = makefile_targets()
    assert {"grade", "test", "serve", "release"} <= targets
    mentioned = {target for snippet in snippets(page) for target in MAKE.findall(snippet)}
    assert sorted(mentioned - targets) == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_test_file_and_kit_path_named_exists(page):
    test_files = {path.name for path in (ROOT / "tests").rglob("test_*.py")}
    missing = []
    for snippet in snippets(page):
        missing += [name for name in TEST_FILE.findall(snippet) if name not in test_files]
        if KIT_PATH.match(snippet) and (snippet.endswith((".py", "/"))) \
                and not (ROOT / snippet).exists():
            missing.append(snippet)
    assert missing == []


def test_every_command_and_option_of_the_cli_is_documented():
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    undocumented = []
    for name, parser in grader_parsers().items():
        if f"python -m grader {name}" not in text and f"`{name.split()[-1]}`" not in text:
            undocumented.append(name)
        for flag in sorted(options(parser) - {"-h", "--help"}):
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
                undocumented.append(f"{name} {flag}")
    assert undocumented == [], "document these in the guide of their reader (docs/README.md)"


def test_the_limits_table_gives_the_librarys_defaults():
    from grader.classgrade.sandbox.limits import Limits
    text = (DOCS / "grading-a-class.md").read_text(encoding="utf-8")
    table = {flag: float(value) for flag, value
             in re.findall(r"^\| `--([\w-]+)` \| ([\d.]+)", text, re.M)}
    defaults = {field.name.replace("_", "-"): float(field.default)
                for field in dataclasses.fields(Limits) if not isinstance(field.default, str)}
    assert table == defaults
