#!/usr/bin/env python3
"""TOOLSMITH: skills, slash commands, agent specs, MCP tool scaffolds
(playbooks/coord_ops.ops).

Layout in the repository it works on:
  skills/NAME/SKILL.md          YAML front matter (name, description) + Purpose, Usage, Examples
  .claude/commands/NAME.md      the slash command /NAME, naming the skill
  .claude/agents/NAME.md        agent specifications
  tools/NAME/                   MCP tool scaffolds (tool.json + README.md)

Every task also reports `yaml_valid` and `missing_sections`, checked on the
files it wrote. It never commits: RELEASE_MANAGER does.
"""

import json
import os
import re
import sys
from pathlib import Path

# opslib lives next to this script; no __pycache__ in the checkout.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from opslib import Failure, arg_str, log, serve, state_dir  # noqa: E402

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
AGENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SKILL_SECTIONS = ("Purpose", "Usage", "Examples")
AGENT_SECTIONS = ("Charter", "Capabilities", "Constraints", "When to Spawn")
TOOL_SECTIONS = ("Purpose", "Input", "Output")
FM_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):(?:\s+(.*))?$")


# ── Front matter: a tiny parser for `key: value` lines between `---` fences ─


def parse_front_matter(text):
    """(fields, errors). Accepts plain scalars, "double-quoted" (JSON-style
    escapes) and 'single-quoted' values; anything else is an error."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, ["no front matter (the file must start with `---`)"]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return {}, ["the front matter has no closing `---`"]
    fields, errors = {}, []
    for number, line in enumerate(lines[1:end], 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = FM_KEY.match(line)
        if not m:
            errors.append(f"line {number}: not a `key: value` line")
            continue
        key, value = m.group(1), (m.group(2) or "").strip()
        if key in fields:
            errors.append(f"line {number}: duplicate key `{key}`")
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                errors.append(f"line {number}: bad double-quoted value")
                continue
        elif value.startswith("'"):
            if len(value) < 2 or not value.endswith("'") or "'" in value[1:-1].replace("''", ""):
                errors.append(f"line {number}: bad single-quoted value")
                continue
            value = value[1:-1].replace("''", "'")
        elif re.search(r": |\s#|^[\[{&*!|>%@`]", value):
            errors.append(f"line {number}: value of `{key}` needs quotes")
            continue
        fields[key] = value
    return fields, errors


def _quoted(value):
    return json.dumps(" ".join(str(value).split()), ensure_ascii=False)


def check_document(path, required_keys, sections, name=None):
    """(yaml_valid, missing_sections) of a Markdown file with front matter."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        log(f"{path} is missing")
        return False, len(sections)
    fields, errors = parse_front_matter(text)
    for key in required_keys:
        if not fields.get(key):
            errors.append(f"`{key}` is missing or empty")
    if name is not None and fields.get("name") not in (None, "", name):
        errors.append(f"`name` is {fields.get('name')!r}, not {name!r}")
    for e in errors:
        log(f"{path}: front matter: {e}")
    missing = [s for s in sections if not re.search(rf"^## {re.escape(s)}[ \t]*$", text, re.M)]
    for s in missing:
        log(f"{path}: section `## {s}` is missing")
    return not errors, len(missing)


# ── Skills ──────────────────────────────────────────────────────────────────


def _skill_md(name):
    return Path("skills") / name / "SKILL.md"


def _command_md(name):
    return Path(".claude") / "commands" / f"{name}.md"


def _alias_file(name):
    return state_dir("toolsmith") / f"alias-{name}.json"


def _pending_file(name):
    return state_dir("toolsmith") / f"pending-{name}"


def _skill_text(name, description, purpose):
    return f"""---
name: {name}
description: {_quoted(description)}
---

# {name}

## Purpose

{purpose or "TODO: say what this skill is for and when to use it."}

## Usage

Run `/{name}` in Claude Code, or ask for the `{name}` skill by name. Load
this file before acting on the request.

## Examples

```text
/{name}
```
"""


def _command_text(name, description):
    return f"""---
description: {_quoted(description)}
---

Use the `{name}` skill: follow skills/{name}/SKILL.md for this request.

$ARGUMENTS
"""


def _registered(name):
    p = _command_md(name)
    return p.is_file() and f"skills/{name}/SKILL.md" in p.read_text(encoding="utf-8")


def _skill_outputs(name, purpose):
    valid, missing = check_document(_skill_md(name), ("name", "description"), SKILL_SECTIONS, name)
    registered = _registered(name)
    log(f"skill {name}: yaml {'valid' if valid else 'INVALID'}, {missing} sections missing, /{name} {'registered' if registered else 'NOT registered'}")
    return {
        "name": name,
        "path": f"skills/{name}",
        "slash_command": f"/{name}",
        "registered": registered,
        "significant": bool(purpose.strip()),
        "yaml_valid": valid,
        "missing_sections": missing,
    }


def skill(args):
    requested = arg_str(args, "name", required=True)
    purpose = arg_str(args, "purpose", default="")
    if not KEBAB.match(requested) or len(requested) > 64:
        raise Failure("invalid_name", f"skill names are kebab-case (e.g. `constraint-preflight`), not {requested!r}")
    name = requested
    alias = _alias_file(requested)
    if alias.is_file():  # add_suffix chose another name for this request
        name = json.loads(alias.read_text())["name"]
        alias.unlink()
        log(f"using {name} for {requested} (chosen by add_suffix)")
    pending = _pending_file(name)
    if Path("skills", name).exists():
        if not pending.is_file():
            raise Failure("name_collision", f"skills/{name} already exists")
        # Our own skill whose front matter failed validation: fix_yaml ran,
        # this is the retry.
        log(f"skills/{name} exists from a failed attempt: validating it again")
    else:
        description = purpose or f"The {name} skill."
        _skill_md(name).parent.mkdir(parents=True)
        _skill_md(name).write_text(_skill_text(name, description, purpose), encoding="utf-8")
        log(f"wrote {_skill_md(name)}")
    if not _command_md(name).exists():
        _command_md(name).parent.mkdir(parents=True, exist_ok=True)
        fields, _ = parse_front_matter(_skill_md(name).read_text(encoding="utf-8"))
        _command_md(name).write_text(_command_text(name, fields.get("description") or purpose or name), encoding="utf-8")
        log(f"wrote {_command_md(name)}")
    outputs = _skill_outputs(name, purpose)
    if not outputs["yaml_valid"]:
        pending.write_text(purpose)
        raise Failure("invalid_yaml", f"the front matter of {_skill_md(name)} is not valid")
    if pending.is_file():
        pending.unlink()
    return outputs


def add_suffix(args):
    base = arg_str(args, "name", required=True)
    if not KEBAB.match(base):
        raise Failure("invalid_name", f"skill names are kebab-case, not {base!r}")
    n = 2
    while Path("skills", f"{base}-{n}").exists() or _command_md(f"{base}-{n}").exists():
        n += 1
    name = f"{base}-{n}"
    _alias_file(base).write_text(json.dumps({"name": name}))
    log(f"{base} is taken: the next skill request for it creates {name}")
    return {"name": name, "yaml_valid": True, "missing_sections": 0}


def _rewrite_front_matter(path, fields, order):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    body = text
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            body = "".join(lines[end + 1:])
    fm = "---\n" + "".join(f"{k}: {_quoted(fields[k]) if k == 'description' else fields[k]}\n" for k in order if fields.get(k)) + "---\n"
    path.write_text(fm + ("" if body.startswith("\n") else "\n") + body, encoding="utf-8")
    log(f"rewrote the front matter of {path}")


def _salvage(path, key):
    """A front matter value read leniently (for fix_yaml)."""
    for line in path.read_text(encoding="utf-8").splitlines()[1:40]:
        if line.strip() == "---":
            break
        k, sep, v = line.partition(":")
        if sep and k.strip() == key:
            return v.strip().strip("\"'")
    return ""


def fix_yaml(args):
    name = arg_str(args, "name", required=True)
    for path, sections, keys in (
        (_skill_md(name), SKILL_SECTIONS, ("name", "description")),
        (Path(".claude", "agents", f"{name}.md"), AGENT_SECTIONS, ("name", "description")),
    ):
        if path.is_file():
            break
    else:
        raise Failure("not_found", f"no skill or agent spec named {name}")
    description = _salvage(path, "description")
    if not description:
        m = re.search(r"^## (?:Purpose|Charter)\s*\n+(.+)", path.read_text(encoding="utf-8"), re.M)
        description = m.group(1).strip() if m else f"The {name} {'skill' if path.name == 'SKILL.md' else 'agent'}."
    _rewrite_front_matter(path, {"name": name, "description": description}, keys)
    valid, missing = check_document(path, keys, sections, name)
    return {"path": path.as_posix(), "yaml_valid": valid, "missing_sections": missing}


# ── Agent specs and MCP tools ───────────────────────────────────────────────


def agent(args):
    name = arg_str(args, "name", required=True)
    purpose = arg_str(args, "purpose", default="")
    if not AGENT_NAME.match(name):
        raise Failure("invalid_name", f"agent names are letters, digits, `_` and `-`, not {name!r}")
    path = Path(".claude", "agents", f"{name}.md")
    if path.exists():
        raise Failure("name_collision", f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    description = purpose or f"The {name} agent."
    path.write_text(
        f"""---
name: {name}
description: {_quoted(description)}
---

# {name}

> **Status:** Draft (needs ARCHITECT review before merging)

## Charter

{purpose or "TODO: the agent's role and what it is responsible for."}

## Capabilities

- TODO: what the agent can do

## Constraints

- Cannot merge its own changes (requires human approval)

## When to Spawn

- TODO: the signals or situations that call for this agent
""",
        encoding="utf-8",
    )
    log(f"wrote {path}")
    valid, missing = check_document(path, ("name", "description"), AGENT_SECTIONS, name)
    if not valid:
        raise Failure("invalid_yaml", f"the front matter of {path} is not valid")
    return {"path": path.as_posix(), "yaml_valid": valid, "missing_sections": missing}


def tool(args):
    name = arg_str(args, "name", required=True)
    purpose = arg_str(args, "purpose", default="")
    if not KEBAB.match(name):
        raise Failure("invalid_name", f"tool names are kebab-case, not {name!r}")
    folder = Path("tools", name)
    if folder.exists():
        raise Failure("name_collision", f"{folder} already exists")
    folder.mkdir(parents=True)
    description = purpose or f"The {name} MCP tool."
    (folder / "tool.json").write_text(
        json.dumps(
            {
                "name": name.replace("-", "_"),
                "description": description,
                "inputSchema": {"type": "object", "properties": {}, "required": []},
            },
            indent=2,
        )
        + "\n"
    )
    (folder / "README.md").write_text(
        f"""---
name: {name}
description: {_quoted(description)}
---

# {name}

## Purpose

{purpose or "TODO: what the tool does."}

## Input

See `tool.json` (`inputSchema`).

## Output

TODO: what the tool returns.
""",
        encoding="utf-8",
    )
    log(f"wrote {folder}/tool.json and {folder}/README.md")
    valid, missing = check_document(folder / "README.md", ("name", "description"), TOOL_SECTIONS, name)
    return {"path": folder.as_posix(), "yaml_valid": valid, "missing_sections": missing}


def audit_skills(args):
    lines = ["# Skills audit", ""]
    all_valid, missing_total = True, 0
    skills = sorted(p.parent.name for p in Path("skills").glob("*/SKILL.md")) if Path("skills").is_dir() else []
    lines.append(f"## Skills ({len(skills)})")
    for name in skills:
        valid, missing = check_document(_skill_md(name), ("name", "description"), SKILL_SECTIONS, name)
        all_valid = all_valid and valid
        missing_total += missing
        notes = [] if valid else ["front matter invalid"]
        notes += [f"{missing} sections missing"] if missing else []
        notes += [] if _registered(name) else [f"/{name} not registered"]
        lines.append(f"- {name}: {', '.join(notes) or 'ok'}")
    specs = sorted(Path(".claude", "agents").glob("*.md")) if Path(".claude", "agents").is_dir() else []
    lines += ["", f"## Agent specs ({len(specs)})"]
    for spec in specs:
        valid, missing = check_document(spec, ("name", "description"), AGENT_SECTIONS)
        all_valid = all_valid and valid
        missing_total += missing
        lines.append(f"- {spec.stem}: {'ok' if valid and not missing else f'yaml valid: {valid}, {missing} sections missing'}")
    commands = sorted(Path(".claude", "commands").glob("*.md")) if Path(".claude", "commands").is_dir() else []
    orphans = [c.stem for c in commands if c.stem not in skills]
    lines += ["", f"## Slash commands without a skill: {len(orphans)}"] + [f"- /{o}" for o in orphans]
    log(f"{len(skills)} skills, {len(specs)} agent specs: yaml {'valid' if all_valid else 'INVALID'}, {missing_total} sections missing")
    return {"report": "\n".join(lines) + "\n", "yaml_valid": all_valid, "missing_sections": missing_total}


HANDLERS = {
    "skill": skill,
    "agent": agent,
    "tool": tool,
    "fix_yaml": fix_yaml,
    "add_suffix": add_suffix,
    "audit_skills": audit_skills,
}

if __name__ == "__main__":
    sys.exit(serve(HANDLERS, "TOOLSMITH", replayable=("skill", "agent", "tool", "add_suffix")))
