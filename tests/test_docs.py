"""The repository carries its own documents: links resolve inside it, the draw specification
is docs/srdp-1.md, and every "SRDP-1 §N" the code cites names a section that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "instance",
    "bench-results",
}
SPEC = ROOT / "docs" / "srdp-1.md"
# Spelled in pieces so that this file does not contain what it forbids.
FORBIDDEN = ("DRAW" + "-SPEC", "../" + "shared")

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
CITATION = re.compile(r"(?:SRDP-1|srdp-1\.md)\s*§(\d+(?:\.\d+)?)(?:\s*[–-]\s*§(\d+(?:\.\d+)?))?")


def repo_files(suffixes: tuple[str, ...] | None = None) -> list[Path]:
    found = []
    stack = [ROOT]
    while stack:
        directory = stack.pop()
        for path in directory.iterdir():
            if path.is_dir():
                if path.name not in SKIP_DIRS and not path.name.endswith(".egg-info"):
                    stack.append(path)
            elif suffixes is None or path.suffix in suffixes:
                found.append(path)
    return sorted(found)


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary files (images, fonts, zips) hold no links or names


def markdown_files() -> list[Path]:
    return repo_files((".md",))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(0)[1:-1], heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(h) for h in HEADING.findall(text)}


def links(text: str) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def link_problem(source: Path, target: str) -> str | None:
    """Why `target`, linked from `source`, does not resolve inside the repository (or None)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
        return None if target.startswith(("https:", "http:", "mailto:")) else "unknown scheme"
    if target.startswith("/"):
        return "absolute path (write a link relative to the file)"
    path_part, _, fragment = target.partition("#")
    resolved = (source.parent / path_part).resolve() if path_part else source
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if any(part in SKIP_DIRS for part in resolved.relative_to(ROOT).parts):
        return "points into a directory that is not part of the repository"
    if not resolved.exists():
        return "does not exist"
    if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
        return f"no heading with anchor #{fragment}"
    return None


def test_the_documents_the_issue_names_exist():
    for name in (
        "README.md",
        "VERIFY.md",
        "CHANGELOG.md",
        "docs/srdp-1.md",
        "docs/architecture.md",
    ):
        assert (ROOT / name).is_file(), name
    # README points the reader to the specification and to the map of the code.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/srdp-1.md)" in readme
    assert "(docs/architecture.md)" in readme


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(path):
    problems = [
        f"{target}: {problem}"
        for target in links(path.read_text(encoding="utf-8"))
        if (problem := link_problem(path, target)) is not None
    ]
    assert problems == []


def test_link_checker_catches_what_it_should(tmp_path):
    """The checker itself: a link outside the repository, a missing file, a missing anchor."""
    readme = ROOT / "README.md"
    assert link_problem(readme, "../outside/X.md") == "points outside the repository"
    assert link_problem(readme, "docs/no-such-file.md") == "does not exist"
    assert link_problem(readme, "docs/srdp-1.md#no-such-heading").startswith("no heading")
    assert link_problem(readme, "docs/srdp-1.md#6-inspector-assignment") is None
    assert link_problem(readme, "/etc/passwd").startswith("absolute path")
    assert link_problem(readme, "https://example.org/") is None
    assert links("see [a](b.md) and `[c](d.md)` and\n```\n[e](f.md)\n```\n[g]: h.md\n") == [
        "b.md",
        "h.md",
    ]


PACKAGE = ROOT / "shuangsuiji"
CODE_SPAN = re.compile(r"`([^`\s]+)`")


def named_path_problem(name: str) -> str | None:
    """A path named in `code` in a document (`shuangsuiji/edge.py`, `worker/draws.py`,
    `plans/settings`): None when it exists, relative to the repository, the package or the
    services; other code spans (commands, URLs, globs) are not paths and are left alone."""
    name = name.rstrip("/,.")
    if "/" not in name or re.search(r"[^\w./-]", name) or name.startswith(("/", ".")):
        return None
    head = name.split("/")[0]
    if (ROOT / head).is_dir() and head not in SKIP_DIRS:
        bases = [ROOT]
    elif (PACKAGE / head).is_dir():
        bases = [PACKAGE]
    elif (PACKAGE / "services" / head).is_dir():
        bases = [PACKAGE / "services"]
    else:
        return None
    for base in bases:
        if (base / name).exists() or (base / f"{name}.py").exists():
            return None
    return f"{name}: no such file or directory"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_names_exists(path):
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    problems = sorted(
        {p for name in CODE_SPAN.findall(text) if (p := named_path_problem(name)) is not None}
    )
    assert problems == []


def test_path_checker_catches_a_stale_name():
    assert named_path_problem("shuangsuiji/edge.py") is None
    assert named_path_problem("worker/handlers.py") is None
    assert named_path_problem("plans/draws") is None
    assert (
        named_path_problem("services/batches.py")
        == "services/batches.py: no such file or directory"
    )
    assert named_path_problem("plans/nowhere") == "plans/nowhere: no such file or directory"
    assert named_path_problem("/public/plans") is None  # a URL path, not a file
    assert named_path_problem("scripts/bench_*.py") is None  # a glob


def test_no_file_names_the_old_specification_or_links_outside():
    offenders = []
    for path in repo_files():
        text = text_of(path)
        if text is None:
            continue
        for word in FORBIDDEN:
            for number, line in enumerate(text.splitlines(), 1):
                if word in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {word}")
    assert offenders == []


def spec_sections() -> set[str]:
    numbers = set()
    for heading in HEADING.findall(SPEC.read_text(encoding="utf-8")):
        match = re.match(r"(\d+)\.(\d+)?\s", heading)
        if match:
            numbers.add(match.group(1) + (f".{match.group(2)}" if match.group(2) else ""))
    return numbers


def test_the_specification_keeps_its_sections_one_to_nine():
    sections = spec_sections()
    assert {str(n) for n in range(1, 10)} <= sections
    # Subsections cited by the code (a renumbering would break these citations).
    assert {"1.4", "2.3", "3.1", "3.3", "5.3", "6.5", "7.3"} <= sections


def test_every_citation_of_the_specification_names_an_existing_section():
    sections = spec_sections()
    cited = {}
    for path in repo_files((".py", ".md", ".html", ".txt", ".cfg", ".toml")):
        text = text_of(path)
        if text is None:
            continue
        for match in CITATION.finditer(text):
            for number in filter(None, match.groups()):
                cited.setdefault(number, str(path.relative_to(ROOT)))
    assert cited, "the code cites the specification"
    missing = {number: where for number, where in cited.items() if number not in sections}
    assert missing == {}
