#!/usr/bin/env python3
"""RELEASE_MANAGER: git, PRs, releases (playbooks/coord_ops.ops).

Works on the git repository in its working directory. Pushes go to the
remote named by OPS_REMOTE (default `origin`); never with --force, never to
main/master. PRs and GitHub releases are not opened over the network: they
are recorded as Markdown files under .git/coordops/ (never committed).
"""

import datetime
import json
import os
import re
import shlex
import sys
from pathlib import Path

# opslib lives next to this script; no __pycache__ in the checkout.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from opslib import (  # noqa: E402
    CONVENTIONAL,
    Failure,
    arg_list,
    arg_str,
    current_branch,
    file_url,
    git,
    git_dir,
    git_out,
    has_head,
    log,
    remote_name,
    run,
    scan_staged_for_secrets,
    serve,
    state_dir,
)

PROTECTED = ("main", "master")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")


# ── Staging and committing ──────────────────────────────────────────────────


def _stage(files):
    if not files:
        git("add", "-A")
        return
    present = []
    for f in files:
        tracked = git("ls-files", "--error-unmatch", "--", f, check=False, quiet=True).returncode == 0
        if os.path.lexists(f) or tracked:
            present.append(f)
        else:
            log(f"skipping {f}: no such file")
    if present:
        git("add", "-A", "--", *present)


def _staged_files():
    return [l for l in git_out("diff", "--cached", "--name-only").splitlines() if l]


def _unstage():
    if has_head():
        git("reset", "-q")
    else:
        git("rm", "-r", "-q", "--cached", "--", ".")


def _refuse_secrets():
    found = scan_staged_for_secrets()
    if not found:
        return
    _unstage()
    places = ", ".join(f"{path}:{line} ({label})" for path, line, label in found)
    raise Failure("secrets_found", f"secrets in the staged diff, nothing committed: {places}")


def _test_command():
    """argv of the repository's tests, or None when there are none."""
    configured = os.environ.get("OPS_TEST_COMMAND", "").strip()
    if configured:
        return shlex.split(configured)
    if Path("Makefile").is_file() and re.search(r"^test\s*:(?!=)", Path("Makefile").read_text(errors="replace"), re.M):
        return ["make", "test"]
    if Path("package.json").is_file():
        try:
            scripts = json.loads(Path("package.json").read_text()).get("scripts") or {}
        except ValueError:
            scripts = {}
        if isinstance(scripts, dict) and scripts.get("test"):
            return ["npm", "test"]
    if Path("Cargo.toml").is_file():
        return ["cargo", "test", "--quiet"]
    if Path("go.mod").is_file():
        return ["go", "test", "./..."]
    if Path("tests").is_dir() and any(Path("tests").glob("test_*.py")):
        return [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
    return None


def _run_tests():
    argv = _test_command()
    if argv is None:
        log("no tests found (set OPS_TEST_COMMAND, or add a Makefile `test:` target): tests_passed is false")
        return False
    # Leave a few seconds of the attempt for the commit itself.
    proc = run(argv, check=False, margin=3, untrusted=True)
    passed = proc.returncode == 0
    log(f"tests {'passed' if passed else f'failed (exit status {proc.returncode})'}")
    return passed


def _commit(message):
    git("commit", "-q", "-m", message)
    sha = git_out("rev-parse", "HEAD")
    files = [l for l in git_out("show", "--name-only", "--format=", "HEAD").splitlines() if l]
    log(f"committed {sha[:12]} ({len(files)} files)")
    return sha, files


def commit(args):
    message = arg_str(args, "message", required=True)
    if not CONVENTIONAL.match(message):
        raise Failure(
            "invalid_message",
            f"not a conventional commit message: {message.splitlines()[0]!r} "
            "(expected e.g. `feat(scope): summary`)",
        )
    # Files the playbook hands over as documented (OPS:SKILL, OPS:DOCS) are
    # part of the same change.
    files = arg_list(args, "files") + [f for f in arg_list(args, "documented") if f not in arg_list(args, "files")]
    _stage(files)
    if not _staged_files():
        raise Failure("nothing_to_commit", "nothing to commit: no changes staged")
    _refuse_secrets()
    try:
        passed = _run_tests()
    except Failure:
        _unstage()  # leave the index as a failed attempt found it: unstaged
        raise
    if not passed:
        # Reported, not committed: the playbook's `tests_pass` check fails the
        # step, and the same signal can be sent again once the tests pass.
        _unstage()
        log("not committing: the tests did not pass")
        return {"hash": "", "message": message, "tests_passed": False, "secrets_found": False, "files": []}
    sha, committed = _commit(message)
    return {
        "hash": sha,
        "message": message,
        "tests_passed": True,
        "secrets_found": False,
        "files": committed,
    }


# ── Remote ──────────────────────────────────────────────────────────────────


def _remote_hash(remote, ref):
    out = git_out("ls-remote", remote, ref)
    return out.split()[0] if out else ""


def _push_failure(proc, what):
    # With --porcelain the per-ref status ("!\tHEAD:refs/heads/x\t[rejected]
    # (fetch first)") is on stdout, git's hints on stderr.
    text = (proc.stdout or "") + "\n" + (proc.stderr or "")
    reason = next(
        (" ".join(l.split()) for l in text.splitlines() if "[rejected]" in l or "[remote rejected]" in l),
        None,
    )
    if reason is not None:
        reason = reason.lstrip("! ")
    if reason is not None or "non-fast-forward" in text or "fetch first" in text:
        return Failure("rejected", f"push of {what} rejected: {reason or 'non-fast-forward'}")
    if re.search(r"Could not read from remote|unable to access|Connection|timed out", text):
        lines = [l for l in text.splitlines() if l.strip()]
        return Failure("network", f"push of {what} failed: {lines[-1].strip() if lines else 'network error'}")
    lines = [l for l in text.splitlines() if l.strip()]
    return Failure("error", f"push of {what} failed: {lines[-1].strip() if lines else 'unknown error'}")


def push(args):
    branch = arg_str(args, "branch") or current_branch()
    if not branch:
        raise Failure("invalid_args", "no `branch` given and HEAD is detached")
    branch = branch.removeprefix("refs/heads/")
    if branch in PROTECTED:
        raise Failure("boundary", "cannot merge to main (requires human approval)")
    remote = remote_name()
    head = git_out("rev-parse", "HEAD")
    wanted = arg_str(args, "commit")
    if wanted and not head.startswith(wanted) and not wanted.startswith(head):
        log(f"HEAD is {head[:12]}, not {wanted[:12]} (rebased after a fetch?): pushing HEAD")
    proc = git("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
    if proc.returncode != 0:
        raise _push_failure(proc, f"HEAD to {remote}/{branch}")
    pushed = _remote_hash(remote, f"refs/heads/{branch}")
    if pushed != head:
        raise Failure("error", f"after the push {remote}/{branch} is {pushed[:12] or 'missing'}, not HEAD {head[:12]}")
    log(f"{remote}/{branch} is {pushed[:12]}")
    return {"branch": branch, "hash": pushed, "remote": remote}


def fetch(args):
    branch = arg_str(args, "branch") or current_branch()
    if not branch:
        raise Failure("invalid_args", "no `branch` given and HEAD is detached")
    remote = remote_name()
    proc = git("fetch", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}", check=False)
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            raise Failure("not_found", f"{remote} has no branch {branch}")
        raise Failure("network", f"git fetch {remote} {branch} failed: {proc.stderr.strip().splitlines()[-1:]}")
    proc = git("rebase", "--autostash", f"{remote}/{branch}", check=False)
    if proc.returncode != 0:
        gd = git_dir()
        if (gd / "rebase-merge").exists() or (gd / "rebase-apply").exists():
            git("rebase", "--abort", check=False)
            conflicted = [l for l in (proc.stdout + proc.stderr).splitlines() if l.startswith("CONFLICT")]
            detail = "; ".join(conflicted) or "conflicting changes"
            raise Failure("conflict", f"rebase on {remote}/{branch} aborted: {detail}")
        raise Failure("error", f"git rebase {remote}/{branch} failed: {proc.stderr.strip()}")
    head = git_out("rev-parse", "HEAD")
    log(f"HEAD is {head[:12]}, rebased on {remote}/{branch}")
    return {"branch": branch, "hash": head}


# ── PRs, recorded under .git/coordops/prs ───────────────────────────────────


def _base_branch():
    configured = os.environ.get("OPS_BASE_BRANCH")
    if configured:
        return configured
    remote = remote_name()
    for name in PROTECTED:
        for ref in (f"refs/heads/{name}", f"refs/remotes/{remote}/{name}"):
            if git("rev-parse", "-q", "--verify", ref, check=False, quiet=True).returncode == 0:
                return name
    return "main"


def _prs():
    """{number: (path, fields, title)} of the recorded PRs."""
    prs = {}
    for p in state_dir("prs").glob("*.md"):
        if not p.stem.isdigit():
            continue
        text = p.read_text()
        title = text.splitlines()[0].removeprefix("# ").strip() if text else ""
        fields = dict(re.findall(r"^- (\w+): (.*)$", text, re.M))
        prs[int(p.stem)] = (p, fields, title)
    return prs


def _on_head(commit):
    """"<short hash> <subject>" of `commit`, or of its rebased copy on HEAD
    (a fetch rebases the commit a push was rejected for)."""
    line = git_out("log", "-1", "--format=%h %ad%x00%s", "--date=raw", commit, check=False)
    if not line:
        raise Failure("pr_failed", f"unknown commit {commit}")
    short, key = line.split(" ", 1)
    if git("merge-base", "--is-ancestor", commit, "HEAD", check=False, quiet=True).returncode != 0:
        for candidate in git_out("log", "-200", "--format=%h %ad%x00%s", "--date=raw", "HEAD").splitlines():
            c_short, _, c_key = candidate.partition(" ")
            if c_key == key:
                log(f"{short} was rebased: it is {c_short} on HEAD")
                short = c_short
                break
    return f"{short} {key.split(chr(0), 1)[1]}"


def _pending_title_file(branch):
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", branch or "HEAD")
    return state_dir("prs") / f"title-{safe}.json"


def pr(args):
    head = arg_str(args, "branch") or current_branch() or "HEAD"
    base = _base_branch()
    commits = arg_list(args, "commits")
    if not commits:
        revs = f"{base}..HEAD" if git("rev-parse", "-q", "--verify", base, check=False, quiet=True).returncode == 0 else "-1"
        commits = [l for l in git_out("log", "--format=%H", revs, check=False).splitlines() if l] or [git_out("rev-parse", "HEAD")]
    subjects = [_on_head(c) for c in commits]
    pending = _pending_title_file(head)
    title = None
    if pending.is_file():
        title = json.loads(pending.read_text()).get("title")
    title = title or arg_str(args, "title") or subjects[0].split(" ", 1)[1]
    prs = _prs()
    if any(f.get("state") == "open" and t == title for _, f, t in prs.values()):
        pending.write_text(json.dumps({"rejected": title}))
        raise Failure("pr_failed", f"an open PR is already titled {title!r}")
    if pending.is_file():
        pending.unlink()
    number = max(prs, default=0) + 1
    tests = os.environ.get("OPS_TEST_COMMAND") or "the repository's tests"
    body = "\n".join(
        [
            "## Summary",
            "",
            *[f"- {s.split(' ', 1)[1]}" for s in subjects],
            "",
            "## Commits",
            "",
            *[f"- `{s.split(' ', 1)[0]}` {s.split(' ', 1)[1]}" for s in subjects],
            "",
            "## Test plan",
            "",
            f"- [x] {tests} ran before each commit (RELEASE_MANAGER `commit`, `tests_passed`)",
            "- [x] staged diff scanned for secrets",
            "- [ ] human review",
            "",
            "---",
            "AI attribution: prepared by the COORD_OPS RELEASE_MANAGER agent (AI-generated).",
        ]
    )
    path = state_dir("prs") / f"{number}.md"
    path.write_text(
        f"# {title}\n\n- number: {number}\n- state: open\n- base: {base}\n- head: {head}\n\n{body}\n"
    )
    log(f"recorded PR #{number} {head} -> {base}: {path}")
    return {"url": file_url(path), "title": title, "body": body}


def retitle_pr(args):
    head = arg_str(args, "branch") or current_branch() or "HEAD"
    pending = _pending_title_file(head)
    rejected = None
    if pending.is_file():
        rejected = json.loads(pending.read_text()).get("rejected")
    if not rejected:
        rejected = git_out("log", "-1", "--format=%s", check=False) or "Changes ready for review"
    taken = {t for _, f, t in _prs().values() if f.get("state") == "open"}
    title, n = f"{rejected} ({head})", 2
    while title in taken:
        title, n = f"{rejected} ({head}, {n})", n + 1
    pending.write_text(json.dumps({"title": title}))
    log(f"next PR for {head} will be titled {title!r}")
    return {"title": title}


def pr_status(args):
    number = arg_str(args, "pr", required=True)
    if not str(number).isdigit():
        raise Failure("invalid_args", f"`pr` must be a PR number, not {number!r}")
    found = _prs().get(int(number))
    if found is None:
        raise Failure("not_found", f"no PR #{number} is recorded")
    path, fields, _ = found
    return {"state": fields.get("state", "open"), "url": file_url(path)}


# ── Releases ────────────────────────────────────────────────────────────────


def _version(args):
    version = arg_str(args, "version", required=True).removeprefix("v")
    if not SEMVER.match(version):
        raise Failure("invalid_version", f"{version!r} is not a version such as 1.4.0")
    return version


def _tag_exists(tag):
    return git("rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False, quiet=True).returncode == 0


def release(args):
    version = _version(args)
    tag = f"v{version}"
    if _tag_exists(tag):
        raise Failure("conflict", f"tag {tag} already exists")
    # The changes of finalize_changelog and bump_version: tracked files and
    # CHANGELOG.md, never stray untracked files.
    git("add", "-u")
    if Path("CHANGELOG.md").is_file():
        git("add", "--", "CHANGELOG.md")
    if _staged_files():
        _refuse_secrets()
        _commit(f"chore(release): {tag}")
    elif not has_head():
        raise Failure("nothing_to_commit", "the repository has no commits to tag")
    notes = arg_str(args, "changelog") or ""
    git("tag", "-a", tag, "-m", f"Release {tag}\n\n{notes}".strip())
    sha = git_out("rev-parse", "HEAD")
    return {"name": tag, "commit": sha}


def verify_release_ready(args):
    version = _version(args)
    blockers = []
    if git_out("status", "--porcelain"):
        blockers.append("the working tree has uncommitted changes")
    changelog = Path("CHANGELOG.md")
    if not changelog.is_file():
        blockers.append("CHANGELOG.md is missing")
    else:
        text = changelog.read_text()
        m = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
        if m is None:
            blockers.append("CHANGELOG.md has no [Unreleased] section")
        elif not re.search(r"^- ", m.group(1), re.M):
            blockers.append("the [Unreleased] section of CHANGELOG.md has no entries")
        if re.search(rf"^## \[{re.escape(version)}\]", text, re.M):
            blockers.append(f"CHANGELOG.md already has a [{version}] section")
    if _tag_exists(f"v{version}"):
        blockers.append(f"tag v{version} already exists")
    log("open PRs and P0/P1 issues are not checked (no network access)")
    for b in blockers:
        log(f"blocker: {b}")
    return {"ok": not blockers, "blockers": blockers}


def _bump_toml(path, version, sections):
    text = path.read_text()
    out, section, changed = [], None, False
    for line in text.splitlines(keepends=True):
        m = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if m:
            section = m.group(1).strip()
        elif section in sections and not changed:
            m = re.match(r'^(\s*version\s*=\s*")([^"]*)(".*)$', line, re.S)
            if m:
                if m.group(2) != version:
                    line = f"{m.group(1)}{version}{m.group(3)}"
                    changed = True
                else:
                    sections = ()  # already at this version
        out.append(line)
    if changed:
        path.write_text("".join(out))
    return changed


def bump_version(args):
    version = _version(args)
    changed = []
    for name, sections in (("pyproject.toml", ("project", "tool.poetry")), ("Cargo.toml", ("package", "workspace.package"))):
        p = Path(name)
        if p.is_file() and _bump_toml(p, version, sections):
            changed.append(name)
    p = Path("package.json")
    if p.is_file():
        data = json.loads(p.read_text())
        if isinstance(data, dict) and "version" in data and data["version"] != version:
            data["version"] = version
            p.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            changed.append("package.json")
    for f in changed:
        log(f"{f}: version = {version}")
    if not changed:
        log("no version fields to bump")
    return {"version": version, "files": changed}


def push_tag(args):
    tag = arg_str(args, "tag", required=True)
    if not _tag_exists(tag):
        raise Failure("not_found", f"no tag {tag}")
    remote = remote_name()
    proc = git("push", "--porcelain", remote, f"refs/tags/{tag}", check=False)
    if proc.returncode != 0:
        raise _push_failure(proc, f"tag {tag} to {remote}")
    return {"tag": tag}


def github_release(args):
    tag = arg_str(args, "tag", required=True)
    if not _tag_exists(tag):
        raise Failure("not_found", f"no tag {tag}")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", tag)
    path = state_dir("releases") / f"{safe}.md"
    notes = git_out("tag", "-l", "--format=%(contents)", tag)
    sha = git_out("rev-list", "-n", "1", tag)
    path.write_text(f"# {tag}\n\n- commit: {sha}\n- created: {datetime.date.today().isoformat()}\n\n{notes}\n")
    log(f"recorded release {tag}: {path}")
    return {"url": file_url(path)}


def audit_git_health(args):
    lines = ["# Git health", ""]
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    branches = git_out("for-each-ref", "refs/heads", "--format=%(refname:short) %(committerdate:unix)").splitlines()
    lines.append(f"## Branches ({len(branches)})")
    for b in branches:
        name, _, when = b.rpartition(" ")
        age = int((now - int(when)) // 86400) if when.isdigit() else 0
        lines.append(f"- {name}: last commit {age} days ago{' (stale)' if age > 90 else ''}")
    subjects = git_out("log", "-50", "--format=%h %s", check=False).splitlines() if has_head() else []
    bad = [s for s in subjects if not CONVENTIONAL.match(s.split(" ", 1)[1] if " " in s else "")]
    lines += ["", f"## Commit messages: {len(subjects) - len(bad)}/{len(subjects)} conventional (last 50)"]
    lines += [f"- not conventional: {s}" for s in bad]
    tag = git_out("describe", "--tags", "--abbrev=0", check=False) if has_head() else ""
    lines += ["", f"## Last tag: {tag or 'none'}"]
    heads = {b.rpartition(' ')[0] for b in branches}
    orphaned = [f"#{n} (head {f.get('head')})" for n, (_, f, _) in sorted(_prs().items()) if f.get("state") == "open" and f.get("head") not in heads]
    lines += ["", f"## Recorded PRs without a branch: {len(orphaned)}"] + [f"- {o}" for o in orphaned]
    report = "\n".join(lines)
    log(f"{len(branches)} branches, {len(bad)} non-conventional subjects, last tag {tag or 'none'}")
    return {"report": report}


HANDLERS = {
    "commit": commit,
    "push": push,
    "fetch": fetch,
    "pr": pr,
    "retitle_pr": retitle_pr,
    "pr_status": pr_status,
    "release": release,
    "verify_release_ready": verify_release_ready,
    "bump_version": bump_version,
    "push_tag": push_tag,
    "github_release": github_release,
    "audit_git_health": audit_git_health,
}

if __name__ == "__main__":
    sys.exit(serve(HANDLERS, "RELEASE_MANAGER", replayable=("commit", "release", "pr", "github_release", "bump_version")))
