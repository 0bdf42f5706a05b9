#!/usr/bin/env python3
"""The CI workflow and scripts/ cannot drift apart: .github/workflows/ci.yml must be valid YAML,
every job must run at least one command, every `run:` step must call commands from scripts/
that exist and are executable (with `${{ matrix.X }}` expanded to every value the job's matrix
gives X), and every script .ci/run calls must be the command of some job. A job that runs a
shard of the matrix (--shard K/N) must run every K from 1 to N, and a job that needs it must
merge them (scripts/merge-reports)."""
import itertools
import os
import re
import shlex
import sys

import yaml  # Debian: python3-yaml (scripts/setup installs it)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "ci.yml")
LOCAL_CI = os.path.join(ROOT, ".ci", "run")
MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHARD = re.compile(r"--shard\s+(\$\{\{[^}]*\}\}|\d+)/(\d+)")


def matrix_values(job):
    """Every value each matrix key can take, from the lists and from `include` entries."""
    values = {}
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    for key, val in matrix.items():
        if key in ("include", "exclude"):
            continue
        values.setdefault(key, set()).update(str(v) for v in val)
    for entry in matrix.get("include", []):
        for key, val in entry.items():
            values.setdefault(key, set()).add(str(val))
    return values


def expansions(text, values, where):
    """The text with each ${{ matrix.X }} replaced, for every combination of values."""
    keys = sorted(set(MATRIX_REF.findall(text)))
    missing = [k for k in keys if k not in values]
    if missing:
        raise ValueError(f"{where}: matrix.{missing[0]} is not in the job's matrix")
    for combo in itertools.product(*(sorted(values[k]) for k in keys)):
        chosen = dict(zip(keys, combo))
        yield MATRIX_REF.sub(lambda m: chosen[m.group(1)], text)


def commands(script):
    """The program of each command line of a shell snippet (assignments skipped)."""
    for line in script.replace("\\\n", " ").splitlines():
        words = [w for w in shlex.split(line, comments=True) if not ASSIGNMENT.match(w)]
        if words:
            yield words[0]


def check_script(command, where, errors):
    path = os.path.join(ROOT, command)
    if not command.startswith("scripts/"):
        errors.append(f"{where}: runs '{command}', not a command from scripts/")
    elif not (os.path.isfile(path) and os.access(path, os.X_OK)):
        errors.append(f"{where}: {command} does not exist or is not executable")


def needs_of(job):
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else needs


def check_shards(jobs, errors):
    """Shards split the matrix; only all of them, merged, are the matrix."""
    for name, job in jobs.items():
        values = matrix_values(job)
        for step in job.get("steps", []):
            for k_text, n_text in SHARD.findall(step.get("run", "")):
                n = int(n_text)
                ref = MATRIX_REF.fullmatch(k_text)
                ks = sorted(int(v) for v in values.get(ref.group(1), [])) if ref else [int(k_text)]
                if ks != list(range(1, n + 1)):
                    errors.append(f"job {name}: runs shards {ks} of {n}, not every one")
                mergers = [other for other, j in jobs.items()
                           if name in needs_of(j) and any("scripts/merge-reports" in s.get("run", "")
                                                         for s in j.get("steps", []))]
                if not mergers:
                    errors.append(f"job {name}: no job that needs it merges its shards")


def main():
    errors, used = [], set()
    with open(WORKFLOW, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)  # raises on invalid YAML
    # YAML 1.1 reads the key `on` as true.
    if not isinstance(workflow, dict) or not ({"on", True} & workflow.keys()):
        errors.append("the workflow has no 'on' trigger")
    jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
    if not isinstance(jobs, dict) or not jobs:
        errors.append("the workflow has no jobs")
        jobs = {}
    for name, job in jobs.items():
        values = matrix_values(job)
        runs = [s["run"] for s in job.get("steps", []) if "run" in s]
        if not runs or "runs-on" not in job:
            errors.append(f"job {name}: needs runs-on and at least one run step")
        for i, run in enumerate(runs):
            where = f"job {name}, run step {i + 1}"
            try:
                for text in expansions(run, values, where):
                    for command in commands(text):
                        check_script(command, where, errors)
                        used.add(command)
            except ValueError as e:
                errors.append(str(e))
    check_shards(jobs, errors)
    with open(LOCAL_CI, encoding="utf-8") as f:
        local = {c for c in commands(f.read()) if c.startswith("scripts/")}
    for command in sorted(local - used):
        errors.append(f".ci/run calls {command}, which no job of the workflow runs")
    for e in errors:
        print("check_workflow:", e)
    print(f"check_workflow: {len(jobs)} jobs, commands {', '.join(sorted(used))}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
