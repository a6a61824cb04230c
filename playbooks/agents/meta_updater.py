#!/usr/bin/env python3
"""META_UPDATER: CHANGELOG.md and CLAUDE.md maintenance (playbooks/coord_ops.ops).

Every task also reports the quality outputs the playbook checks, computed
for the Markdown files it touched: `broken_links` (relative links to missing
files), `examples_failed` (fenced json/toml/python examples that do not
parse) and `format_ok` (CHANGELOG: exactly one `## [Unreleased]`, entries
are `- ` bullets). It never commits: RELEASE_MANAGER does.
"""

import datetime
import os
import re
import sys
from pathlib import Path

# opslib lives next to this script; no __pycache__ in the checkout.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from opslib import (  # noqa: E402
    UNRELEASED,
    Failure,
    arg_str,
    broken_links,
    doc_quality,
    failed_examples,
    format_problems,
    git_out,
    log,
    serve,
)

CHANGELOG = Path("CHANGELOG.md")
CLAUDE = Path("CLAUDE.md")
HEADER = """# Changelog

All notable changes to this project are documented in this file. The format
follows [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and this
project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]
"""
SUBJECT = re.compile(r"^(?P<type>\w+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?: (?P<text>.+)$")
SECTION_OF = {"feat": "Added", "fix": "Fixed", "perf": "Changed", "refactor": "Changed"}


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    log(f"wrote {path}")


def _read_changelog():
    if CHANGELOG.is_file():
        return CHANGELOG.read_text(encoding="utf-8")
    log(f"{CHANGELOG} is missing: starting it")
    return ""


def _ensure_unreleased(text):
    """(text with an [Unreleased] section, whether it was added)."""
    if UNRELEASED.search(text):
        return text, False
    if not text.strip():
        return HEADER, True
    m = re.search(r"^## ", text, re.M)
    if m:
        return text[: m.start()] + "## [Unreleased]\n\n" + text[m.start():], True
    return text.rstrip("\n") + "\n\n## [Unreleased]\n", True


def _unreleased_span(text):
    """(start of the body, end) of the [Unreleased] section."""
    m = UNRELEASED.search(text)
    start = m.end() + (1 if text[m.end(): m.end() + 1] == "\n" else 0)
    nxt = re.compile(r"^## ", re.M).search(text, start)
    return start, nxt.start() if nxt else len(text)


def _entry_for(subject):
    m = SUBJECT.match(subject)
    if not m:
        return "Changed", f"- {subject[:1].upper()}{subject[1:]}"
    text = m.group("text").strip()
    text = text[:1].upper() + text[1:]
    if m.group("bang"):
        text = f"**Breaking:** {text}"
    if m.group("scope"):
        text = f"**{m.group('scope')}**: {text}"
    return SECTION_OF.get(m.group("type"), "Changed"), f"- {text}"


def _result(touched, **outputs):
    outputs.update(doc_quality(touched))
    return outputs


def changelog(args):
    subject = arg_str(args, "message")
    if not subject:
        commit = arg_str(args, "commit", default="HEAD")
        subject = git_out("log", "-1", "--format=%s", commit)
    section, entry = _entry_for(subject.splitlines()[0].strip())
    text, _ = _ensure_unreleased(_read_changelog())
    start, end = _unreleased_span(text)
    body = text[start:end]
    if any(line.rstrip() == entry for line in body.splitlines()):
        log(f"CHANGELOG.md already lists {entry!r} under [Unreleased]")
        if not CHANGELOG.is_file():
            _write(CHANGELOG, text)
        return _result(["CHANGELOG.md"], modified=False, entry=entry)
    heading = re.search(rf"^### {section}[ \t]*$", body, re.M)
    if heading:
        nxt = re.compile(r"^#{2,3} ", re.M).search(body, heading.end())
        sub_end = nxt.start() if nxt else len(body)
        sub = body[heading.end(): sub_end].rstrip("\n")
        new_body = body[: heading.end()] + sub + "\n" + entry + "\n" + ("\n" if nxt else "") + body[sub_end:].lstrip("\n")
    else:
        stripped = body.strip("\n")
        new_body = "\n" + (stripped + "\n\n" if stripped else "") + f"### {section}\n{entry}\n"
        if end < len(text):
            new_body += "\n"
    _write(CHANGELOG, text[:start] + new_body + text[end:])
    log(f"CHANGELOG.md: [Unreleased] / {section}: {entry}")
    return _result(["CHANGELOG.md"], modified=True, entry=entry)


def finalize_changelog(args):
    version = arg_str(args, "version", required=True).removeprefix("v")
    text = _read_changelog()
    if not UNRELEASED.search(text):
        raise Failure("not_found", "CHANGELOG.md has no [Unreleased] section to finalize")
    if re.search(rf"^## \[{re.escape(version)}\]", text, re.M):
        raise Failure("conflict", f"CHANGELOG.md already has a [{version}] section")
    start, end = _unreleased_span(text)
    entry = text[start:end].strip("\n")
    today = datetime.date.today().isoformat()
    m = UNRELEASED.search(text)
    text = text[: m.start()] + f"## [Unreleased]\n\n## [{version}] - {today}" + text[m.end():]
    # Keep-a-Changelog link references, when the file uses them.
    ref = re.search(r"^\[Unreleased\]:\s*(\S+)/compare/(\S+?)\.\.\.HEAD[ \t]*$", text, re.M)
    if ref:
        url, previous = ref.group(1), ref.group(2)
        text = (
            text[: ref.start()]
            + f"[Unreleased]: {url}/compare/v{version}...HEAD\n[{version}]: {url}/compare/{previous}...v{version}"
            + text[ref.end():]
        )
    _write(CHANGELOG, text)
    log(f"CHANGELOG.md: [Unreleased] is now [{version}] - {today}")
    return _result(["CHANGELOG.md"], entry=entry, version=version)


def start_unreleased(args):
    text, added = _ensure_unreleased(_read_changelog())
    if added:
        _write(CHANGELOG, text)
    else:
        log("CHANGELOG.md already has an [Unreleased] section")
    return _result(["CHANGELOG.md"], modified=added)


# ── CLAUDE.md ───────────────────────────────────────────────────────────────


def _set_line(text, heading, key, line):
    """Adds or replaces the bullet identified by `key` under `## heading`."""
    m = re.search(rf"^## {re.escape(heading)}[ \t]*$", text, re.M)
    if not m:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{line}\n"
        return text.lstrip("\n")
    nxt = re.compile(r"^## ", re.M).search(text, m.end())
    end = nxt.start() if nxt else len(text)
    lines = text[m.end(): end].strip("\n").splitlines()
    for i, existing in enumerate(lines):
        if key in existing:
            lines[i] = line
            break
    else:
        lines.append(line)
    body = "\n\n" + "\n".join(lines) + "\n" + ("\n" if nxt else "")
    return text[: m.end()] + body + text[end:]


def _front_matter(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return {}
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if not m:
        return {}
    fields = {}
    for line in m.group(1).splitlines():
        k, sep, v = line.partition(":")
        if sep:
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            fields[k.strip()] = v
    return fields


def doc_update(args):
    skill_path = arg_str(args, "skill_path")
    spec_path = arg_str(args, "spec_path")
    topic = arg_str(args, "topic")
    text = CLAUDE.read_text(encoding="utf-8") if CLAUDE.is_file() else "# CLAUDE.md\n"
    before = text
    if skill_path:
        skill_md = Path(skill_path) / "SKILL.md" if Path(skill_path).is_dir() else Path(skill_path)
        if not skill_md.is_file():
            raise Failure("not_found", f"no skill at {skill_path}")
        fm = _front_matter(skill_md)
        name = fm.get("name") or skill_md.parent.name
        command = arg_str(args, "command") or f"/{name}"
        desc = fm.get("description") or "(no description)"
        text = _set_line(text, "Agent Skills Reference", f"]({skill_md.as_posix()})",
                         f"- [`{name}`]({skill_md.as_posix()}) (`{command}`): {desc}")
    if spec_path:
        if not Path(spec_path).is_file():
            raise Failure("not_found", f"no agent spec at {spec_path}")
        fm = _front_matter(spec_path)
        name = fm.get("name") or Path(spec_path).stem
        desc = fm.get("description") or "(no description)"
        text = _set_line(text, "Agent Specifications", f"]({Path(spec_path).as_posix()})",
                         f"- [`{name}`]({Path(spec_path).as_posix()}): {desc}")
    if topic and not skill_path and not spec_path:
        # A documentation topic: keep CLAUDE.md's index of the repository's
        # Markdown documentation current (the topic first when it is a file).
        docs = sorted(
            f for f in git_out("ls-files", "--cached", "--others", "--exclude-standard", "*.md").splitlines()
            if f and f != "CLAUDE.md" and Path(f).is_file()
        )
        for f in docs:
            title = next((l[2:].strip() for l in Path(f).read_text(errors="replace").splitlines() if l.startswith("# ")), f)
            text = _set_line(text, "Documentation Index", f"]({f})", f"- [{title}]({f})")
    if text != before:
        _write(CLAUDE, text)
        files = ["CLAUDE.md"]
    else:
        log("CLAUDE.md is up to date")
        files = []
    return _result(["CLAUDE.md"], files=files)


def full_audit(args):
    files = [f for f in git_out("ls-files", "*.md").splitlines() if f]
    lines = ["# Documentation audit", "", f"{len(files)} Markdown files checked.", ""]
    links = examples = 0
    format_ok = True
    for f in files:
        problems = [f"broken link (line {n}): {t}" for n, t in broken_links(Path(f), Path("."))]
        links += len(problems)
        fails = failed_examples(f)
        examples += len(fails)
        problems += [f"{lang} example (line {n}) does not parse: {e}" for n, lang, e in fails]
        fmt = format_problems(f)
        format_ok = format_ok and not fmt
        problems += [f"format: {p}" for p in fmt]
        if problems:
            lines.append(f"## {f}")
            lines += [f"- {p}" for p in problems]
            lines.append("")
    if links == examples == 0 and format_ok:
        lines.append("No problems found.")
    log(f"{len(files)} Markdown files: {links} broken links, {examples} failed examples, format {'ok' if format_ok else 'not ok'}")
    return {"report": "\n".join(lines).rstrip() + "\n", "broken_links": links, "examples_failed": examples, "format_ok": format_ok}


HANDLERS = {
    "changelog": changelog,
    "finalize_changelog": finalize_changelog,
    "start_unreleased": start_unreleased,
    "doc_update": doc_update,
    "full_audit": full_audit,
}

if __name__ == "__main__":
    sys.exit(serve(HANDLERS, "META_UPDATER", replayable=("finalize_changelog",)))
