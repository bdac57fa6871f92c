#!/usr/bin/env python3
"""Checks every relative link in the repository's Markdown files.

A link `[text](path)` or `[text](path#anchor)` must name a file or folder
that exists (relative to the page), and an anchor must match a heading of
the page it points into, slugged as GitHub slugs headings. Links to web
addresses are not fetched (this machine has no internet), and links inside
code blocks and code spans are not links. Exits 1 listing every broken one.

Hand-written (no link checker from PyPI does anchors the way GitHub
renders them without a network or a Markdown renderer): about 60 lines.
"""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = ("http://", "https://", "mailto:")


def prose_lines(text):
    """The page's lines outside fenced code blocks, code spans blanked."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            yield number, re.sub(r"`[^`]*`", "", line)


def slug(heading):
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path):
    seen = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page):
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        for match in LINK.finditer(line):
            target = match.group(1) or match.group(2)
            if target.startswith(EXTERNAL):
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(ROOT)}:{number}: {target}"
            if not resolved.exists():
                yield f"{where}: no such file"
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                yield f"{where}: no heading #{anchor} in {resolved.relative_to(ROOT)}"


def main():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()
    pages = [ROOT / name for name in listed if (ROOT / name).exists()]
    broken = [problem for page in pages for problem in broken_links(page)]
    for problem in broken:
        print(problem, file=sys.stderr)
    print(f"links: {len(pages)} Markdown files checked, {len(broken)} broken links")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
