"""Shared code of the COORD_OPS example agents (python3 stdlib, git, coreutils).

The protocol (docs/backends.md): one JSON request on stdin, one JSON reply on
stdout, exit status 0; logs on stderr, one line per action. Agents call
`serve({task: handler})`; a handler returns its outputs (a dict) or raises
`Failure(kind, message)`.

Nothing here prints the value of an environment variable: `log` redacts the
values of secret-looking variables before they reach stderr.
"""

import datetime
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import traceback
from urllib.parse import unquote
from pathlib import Path

# The playbook's `commit_format` check (playbooks/coord_ops.ops).
CONVENTIONAL = re.compile(
    r"^(feat|fix|docs|chore|refactor|test|perf|build|ci)(\([a-z0-9_-]+\))?!?: .+"
)

# Variables whose values are secrets: never printed, searched for in diffs.
SECRET_NAME = re.compile(r"(TOKEN|SECRET|_KEY$|^KEY$|PASSWORD|PASSWD|CREDENTIAL)", re.I)
# Values shorter than this are not treated as secrets (they would match
# everywhere and reveal little).
MIN_SECRET_LEN = 8

# Common token shapes. Each is (label, regex).
TOKEN_PATTERNS = [
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}")),
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    ("Slack token", re.compile(r"\bxox[bpars]-[A-Za-z0-9-]{10,}")),
]


class Failure(Exception):
    """A task failure reported to coordops as `{"status": "failure", ...}`."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


# ── Logging ─────────────────────────────────────────────────────────────────


def secret_values():
    """Values of secret-looking environment variables (never printed)."""
    return [
        v
        for k, v in os.environ.items()
        if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LEN
    ]


def redact(text):
    for value in secret_values():
        text = text.replace(value, "***")
    return text


def log(message):
    """One human-readable line on stderr."""
    sys.stderr.write(redact(str(message)).rstrip("\n") + "\n")
    sys.stderr.flush()


# ── The request and its time budget ─────────────────────────────────────────

_deadline = None  # time.monotonic() value after which subprocesses are not started


def _set_deadline(request):
    global _deadline
    budgets = []
    timeout_ms = request.get("timeout_ms")
    if isinstance(timeout_ms, (int, float)) and timeout_ms > 0:
        budgets.append(timeout_ms / 1000.0)
    deadline = request.get("deadline")
    if isinstance(deadline, str):
        try:
            when = datetime.datetime.fromisoformat(deadline.replace("Z", "+00:00"))
            if when.tzinfo is not None:
                now = datetime.datetime.now(datetime.timezone.utc)
                budgets.append((when - now).total_seconds())
        except ValueError:
            pass
    if budgets:
        _deadline = time.monotonic() + min(budgets)


def remaining(margin=0.5):
    """Seconds left for a subprocess (None: no budget was given)."""
    if _deadline is None:
        return None
    left = _deadline - time.monotonic() - margin
    if left <= 0:
        raise Failure("timeout", "the attempt's time budget is used up")
    return left


# ── Subprocesses ────────────────────────────────────────────────────────────


def run(argv, check=True, quiet=False, input=None, margin=0.5, untrusted=False):
    """Runs argv (a list, never a shell string) within the attempt's budget
    (less `margin` seconds).

    Returns the CompletedProcess (text mode). With check, a non-zero status
    raises Failure("error", <last line of stderr>). Output never reaches our
    stdout: it is captured. An `untrusted` program (the repository's tests)
    gets no secret-looking environment variables, and its combined output is
    copied to stderr with secret values redacted.
    """
    if not quiet:
        log(shlex.join(argv))
    env = None
    if untrusted:
        env = {k: v for k, v in os.environ.items() if not SECRET_NAME.search(k)}
    try:
        proc = subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if untrusted else subprocess.PIPE,
            timeout=remaining(margin),
            env=env,
            text=True,
            errors="replace",
        )
        if untrusted and proc.stdout:
            log(proc.stdout)
    except subprocess.TimeoutExpired:
        raise Failure("timeout", f"`{argv[0]}` did not finish within the attempt's timeout")
    except FileNotFoundError:
        raise Failure("unavailable", f"`{argv[0]}` is not installed")
    if check and proc.returncode != 0:
        raise Failure("error", f"`{' '.join(argv[:3])}` failed: {last_line(proc.stderr)}")
    return proc


def last_line(text):
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    return redact(lines[-1]) if lines else "(no output)"


def git(*args, check=True, quiet=False, input=None):
    return run(["git", *args], check=check, quiet=quiet, input=input)


def git_out(*args, check=True):
    """stdout of a read-only git command (not logged), stripped."""
    return git(*args, check=check, quiet=True).stdout.strip()


def git_dir():
    return Path(git_out("rev-parse", "--absolute-git-dir"))


def repo_root():
    return Path(git_out("rev-parse", "--show-toplevel"))


def state_dir(*parts):
    """A folder under .git/coordops (inside .git: never committed)."""
    path = git_dir().joinpath("coordops", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def has_head():
    return git("rev-parse", "-q", "--verify", "HEAD", check=False, quiet=True).returncode == 0


def current_branch():
    return git_out("symbolic-ref", "--short", "-q", "HEAD", check=False)


def remote_name():
    return os.environ.get("OPS_REMOTE") or "origin"


def file_url(path):
    return Path(path).resolve().as_uri()


# ── Args ────────────────────────────────────────────────────────────────────


def arg_str(args, name, default=None, required=False):
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise Failure("invalid_args", f"the `{name}` argument is required")
        return default
    if not isinstance(value, (str, int, float)):
        raise Failure("invalid_args", f"the `{name}` argument must be a string")
    return str(value)


def arg_list(args, name):
    value = args.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise Failure("invalid_args", f"the `{name}` argument must be a list")
    return [str(v) for v in value if v is not None and str(v) != ""]


# ── Secrets in a staged diff ────────────────────────────────────────────────


def scan_staged_for_secrets():
    """(file, line, label) for every added line of the staged diff that holds a
    secret. Values are never returned."""
    diff = git("diff", "--cached", "--no-color", "--no-ext-diff", "-U0", quiet=True).stdout
    values = secret_values()
    found = []
    path, line_no = None, 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else target
            continue
        if line.startswith("@@"):
            m = re.match(r"@@ -\S+ \+(\d+)", line)
            line_no = int(m.group(1)) if m else 0
            continue
        if line.startswith("+") and path is not None:
            text = line[1:]
            for label, pattern in TOKEN_PATTERNS:
                if pattern.search(text):
                    found.append((path, line_no, label))
                    break
            else:
                if any(v in text for v in values):
                    found.append((path, line_no, "value of a secret environment variable"))
            line_no += 1
    return found


# ── Markdown checks (META_UPDATER and audits) ───────────────────────────────

_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)\s*([\w+-]*)")


def _prose_lines(text):
    """(line number, line) outside fenced code blocks, inline code removed."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield number, re.sub(r"`[^`]*`", "", line)


def broken_links(path, root):
    """[(line, target)] for relative links in Markdown file `path` whose
    target does not exist (anchors and URLs with a scheme are not checked)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    broken = []
    for number, line in _prose_lines(text):
        targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
        m = _REF_DEF.match(line)
        if m:
            targets.append(m.group(1))
        for target in targets:
            if target.startswith("#") or _SCHEME.match(target):
                continue
            clean = re.split(r"[#?]", target, maxsplit=1)[0]
            if not clean:
                continue
            clean = unquote(clean)
            base = Path(root) if clean.startswith("/") else path.parent
            if not (base / clean.lstrip("/")).exists():
                broken.append((number, target))
    return broken


def failed_examples(path):
    """[(line, language, error)] for fenced json/toml/python examples in a
    Markdown file that do not parse (nothing is executed)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    failures = []
    fence, lang, start, body = None, "", 0, []
    for number, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line)
        if m and fence is None:
            fence, lang, start, body = m.group(1), m.group(2).lower(), number, []
            continue
        if m and m.group(1) == fence and not m.group(2):
            error = _parse_example(lang, "\n".join(body))
            if error:
                failures.append((start, lang, error))
            fence = None
            continue
        if fence is not None:
            body.append(line)
    return failures


def _parse_example(lang, code):
    try:
        if lang == "json":
            json.loads(code)
        elif lang == "toml":
            import tomllib

            tomllib.loads(code)
        elif lang in ("python", "py"):
            compile(code, "<example>", "exec")
    except ImportError:
        return None
    except Exception as e:  # any parse error is a failed example
        return str(e).splitlines()[0] if str(e) else type(e).__name__
    return None


UNRELEASED = re.compile(r"^## \[Unreleased\][ \t]*$", re.M)


def format_problems(path):
    """Formatting problems of a Markdown file: CHANGELOG rules for a file
    named CHANGELOG.md, generic ones otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError:
        return ["not UTF-8"]
    problems = []
    if text and not text.endswith("\n"):
        problems.append("no newline at the end of the file")
    for number, line in _prose_lines(text):
        if re.match(r"^#{1,6}[^#\s]", line):
            problems.append(f"line {number}: heading without a space after #")
    if path.name == "CHANGELOG.md":
        count = len(UNRELEASED.findall(text))
        if count != 1:
            problems.append(f"{count} `## [Unreleased]` headings (expected exactly one)")
        in_version = False
        for number, line in _prose_lines(text):
            if line.startswith("## "):
                in_version = True
                continue
            if not in_version or not line.strip() or line.startswith("#"):
                continue
            if line.startswith("- ") or line.startswith("  "):
                continue
            if re.match(r"^\[[^\]]+\]:\s", line):  # link reference definitions
                continue
            problems.append(f"line {number}: entry is not a `- ` bullet")
    return problems


def doc_quality(files, root=None):
    """The META_UPDATER quality outputs for the Markdown files touched."""
    root = Path(root or repo_root())
    links = examples = 0
    format_ok = True
    for f in files:
        p = root / f
        if p.suffix.lower() != ".md" or not p.is_file():
            continue
        for line, target in broken_links(p, root):
            log(f"broken link in {f}:{line}: {target}")
            links += 1
        for line, lang, error in failed_examples(p):
            log(f"{lang} example in {f}:{line} does not parse: {error}")
            examples += 1
        for problem in format_problems(p):
            log(f"format: {f}: {problem}")
            format_ok = False
    return {"broken_links": links, "examples_failed": examples, "format_ok": format_ok}


# ── Replays ─────────────────────────────────────────────────────────────────


def _replay_file(request):
    key = request.get("idempotency_key")
    if not isinstance(key, str) or not key:
        return None
    digest = hashlib.sha256(
        json.dumps(
            [key, request.get("run_id"), request.get("agent"), request.get("task"), request.get("args")],
            sort_keys=True,
        ).encode()
    ).hexdigest()
    try:
        return state_dir("replies") / f"{digest}.json"
    except Failure:
        return None


# ── The main loop ───────────────────────────────────────────────────────────


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(handlers, agent, replayable=()):
    """Reads the request, runs the task's handler, prints the reply, exits 0.

    Tasks in `replayable` change the repository: their successful replies
    are stored under .git/coordops/replies by idempotency key, so a repeated
    request (a retry after a lost reply) returns the same reply instead of
    doing the work twice.
    """
    try:
        try:
            request = json.loads(sys.stdin.read())
        except ValueError as e:
            raise Failure("error", f"the request on stdin is not JSON: {e}")
        if not isinstance(request, dict):
            raise Failure("error", "the request on stdin is not a JSON object")
        protocol = request.get("protocol", 1)
        if protocol != 1:
            log(f"warning: request protocol {protocol!r}, this agent speaks 1")
        _set_deadline(request)
        task = request.get("task")
        args = request.get("args") or {}
        if not isinstance(args, dict):
            raise Failure("invalid_args", "`args` must be a JSON object")
        handler = handlers.get(task)
        if handler is None:
            raise Failure("unsupported", f"{agent} does not implement task `{task}`")
        try:
            os.chdir(repo_root())
        except Failure:
            raise Failure("error", f"{os.getcwd()} is not inside a git repository")
        log(f"{agent}.{task} attempt {request.get('attempt', 1)}")
        replay = _replay_file(request) if task in replayable else None
        if replay is not None and replay.is_file():
            log(f"replaying the stored reply for idempotency key {request['idempotency_key']}")
            reply(json.loads(replay.read_text()))
            return 0
        outputs = handler(args)
        answer = {"status": "success", "outputs": outputs}
        if replay is not None:
            replay.write_text(json.dumps(answer))
        reply(answer)
    except Failure as f:
        message = redact(" ".join(str(f.message).split()))
        log(f"failure ({f.kind}): {message}")
        reply({"status": "failure", "kind": f.kind, "message": message})
    except Exception as e:  # unexpected: one line on stdout, traceback on stderr
        log(traceback.format_exc())
        message = redact(f"{type(e).__name__}: {' '.join(str(e).split())}")
        reply({"status": "failure", "kind": "error", "message": message})
    return 0
