"""Offline checks of the Terraform in infra/ (no provider download, no credentials).

    python tests/infra/check_terraform.py infra/genesys infra/azure

For every directory (one Terraform root module each):
- every .tf file parses (python-hcl2);
- every `var.X` used is declared, and every declared variable is used;
- every variable has a type and a description; every output has a description;
- every `local.X` used is declared;
- every `<type>.<name>` and `data.<type>.<name>` referenced is declared in the module;
- outputs that carry a secret are `sensitive = true`;
- the providers come from the expected sources, and no provider block carries
  credentials (they come from the environment);
- no .tfvars or state file is tracked by git next to the code.

Exits 1 with one line per problem.
"""

import re
import subprocess
import sys
from pathlib import Path

import hcl2

PROVIDER_SOURCES = {
    "genesyscloud": "mypurecloud/genesyscloud",
    "azuread": "hashicorp/azuread",
    "time": "hashicorp/time",
    "aws": "hashicorp/aws",
}
CREDENTIAL_ATTRIBUTES = {
    "oauthclient_id",
    "oauthclient_secret",
    "access_token",
    "client_id",
    "client_secret",
    "client_certificate",
    "client_certificate_password",
    "client_certificate_path",
    "password",
}
# An output carries a secret when its value reads a client secret or a generated password.
SECRET_VALUE = re.compile(r"\.(client_secret|password)\b|azuread_application_password\.[\w-]+\.value\b")

VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
LOCAL_REF = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)")
DATA_REF = re.compile(r"\bdata\.([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)")
RESOURCE_REF = re.compile(r"(?<![.\w])((?:genesyscloud|azuread|time|aws)_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")


def label(key: str) -> str:
    """python-hcl2 keeps the quotes of block labels: '"name"' -> 'name'."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def unquote(value):
    return label(value) if isinstance(value, str) else value


def strings(node):
    """Every string in a parsed structure (expressions are kept as text)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def blocks(parsed: dict, kind: str):
    for block in parsed.get(kind, []):
        for key, body in block.items():
            if not key.startswith("__"):
                yield label(key), body


def tracked(directory: Path) -> list[Path]:
    """Files of `directory` that git tracks (none when git or the repository is absent)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "."], cwd=directory, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [directory / name for name in listed.decode().split("\0") if name]


def check_module(directory: Path, problems: list[str]) -> None:
    files = sorted(directory.glob("*.tf"))
    if not files:
        problems.append(f"{directory}: no .tf files")
        return
    for stray in tracked(directory):
        if ".tfstate" in stray.name or stray.suffix == ".tfvars":
            problems.append(f"{stray}: state and variable files must not be committed")

    parsed = []
    for path in files:
        try:
            with path.open(encoding="utf-8") as f:
                parsed.append((path, hcl2.load(f)))
        except Exception as error:  # python-hcl2 raises lark errors of several kinds
            problems.append(f"{path}: does not parse: {error}")
    if len(parsed) != len(files):
        return

    declared_vars: dict[str, dict] = {}
    declared_locals: set[str] = set()
    declared_resources: set[tuple[str, str]] = set()
    declared_data: set[tuple[str, str]] = set()
    outputs: dict[str, dict] = {}
    for path, tree in parsed:
        for name, body in blocks(tree, "variable"):
            if name in declared_vars:
                problems.append(f"{path}: variable {name} declared twice")
            declared_vars[name] = body
        for block in tree.get("locals", []):
            declared_locals.update(k for k in block if not k.startswith("__"))
        for kind, named in blocks(tree, "resource"):
            declared_resources.update((kind, label(n)) for n in named if not n.startswith("__"))
        for kind, named in blocks(tree, "data"):
            declared_data.update((kind, label(n)) for n in named if not n.startswith("__"))
        for name, body in blocks(tree, "output"):
            outputs[name] = body
        for block in tree.get("terraform", []):
            for providers in block.get("required_providers", []):
                for name, spec in providers.items():
                    if name.startswith("__"):  # __is_block__, __comments__
                        continue
                    source = unquote(spec.get("source")) if isinstance(spec, dict) else None
                    if PROVIDER_SOURCES.get(name) != source:
                        problems.append(f"{path}: provider {name} from {source!r}, expected {PROVIDER_SOURCES.get(name)!r}")
                    if not isinstance(spec, dict) or not spec.get("version"):
                        problems.append(f"{path}: provider {name} has no version constraint")
        for block in tree.get("provider", []):
            for name, body in block.items():
                if name.startswith("__"):
                    continue
                for attribute in CREDENTIAL_ATTRIBUTES & set(body):
                    problems.append(f"{path}: provider {label(name)} sets {attribute}; credentials come from the environment")

    used_vars, used_locals = set(), set()
    for path, tree in parsed:
        for text in strings(tree):
            used_vars.update(VAR_REF.findall(text))
            used_locals.update(LOCAL_REF.findall(text))
            for kind, name in DATA_REF.findall(text):
                if (kind, name) not in declared_data:
                    problems.append(f"{path}: data.{kind}.{name} is used but not declared")
            # `data.<type>.<name>` is not matched here: the look-behind refuses a '.' before.
            for kind, name in RESOURCE_REF.findall(text):
                if (kind, name) not in declared_resources:
                    problems.append(f"{path}: {kind}.{name} is used but not declared")

    for name in sorted(used_vars - set(declared_vars)):
        problems.append(f"{directory}: var.{name} is used but not declared")
    for name in sorted(set(declared_vars) - used_vars):
        problems.append(f"{directory}: variable {name} is declared but never used")
    for name in sorted(used_locals - declared_locals):
        problems.append(f"{directory}: local.{name} is used but not declared")
    for name, body in sorted(declared_vars.items()):
        for attribute in ("type", "description"):
            if attribute not in body:
                problems.append(f"{directory}: variable {name} has no {attribute}")
    for name, body in sorted(outputs.items()):
        if "description" not in body:
            problems.append(f"{directory}: output {name} has no description")
        value = " ".join(strings(body.get("value", "")))
        secret = SECRET_VALUE.search(value)
        if secret and body.get("sensitive") is not True:
            problems.append(f"{directory}: output {name} carries a secret but is not sensitive = true")

    print(
        f"check_terraform: {directory}: {len(files)} files, {len(declared_vars)} variables, "
        f"{len(declared_resources)} resources, {len(declared_data)} data sources, {len(outputs)} outputs"
    )


def main(directories: list[str]) -> int:
    problems: list[str] = []
    for directory in directories:
        check_module(Path(directory), problems)
    for line in problems:
        print(f"check_terraform: {line}", file=sys.stderr)
    if problems:
        return 1
    print("check_terraform: ok")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(f"usage: {sys.argv[0]} MODULE_DIR...")
    sys.exit(main(sys.argv[1:]))
