"""Ansible module: set options of an INI file in place, keeping everything else.

One call sets every option of a file (a mapping of sections to options), so a service's
configuration is one idempotent task. Values given as None remove the option.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

DOCUMENTATION = """
module: stacklab_ini
short_description: Set options of an INI file, keeping the rest of it
options:
  path: {type: path, required: true}
  settings: {type: dict, required: true}
  mode: {type: str, description: mode of a file created new (default 0640)}
  owner: {type: str}
  group: {type: str}
"""

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_OPTION = re.compile(r"^\s*([^#;=\s][^=]*?)\s*=")

Settings = dict[str, dict[str, Any]]


def render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _section_bounds(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Section name -> (index of its header, index after its last line). The first
    occurrence of a section name wins, as oslo.config reads it."""
    headers = [
        (index, match.group(1))
        for index, line in enumerate(lines)
        if (match := _SECTION.match(line))
    ]
    bounds: dict[str, tuple[int, int]] = {}
    for position, (index, name) in enumerate(headers):
        end = headers[position + 1][0] if position + 1 < len(headers) else len(lines)
        bounds.setdefault(name, (index, end))
    return bounds


def _last_content_line(lines: list[str], start: int, end: int) -> int:
    """Where to append to a section: after its last option, before trailing comments."""
    position = start + 1
    for index in range(start + 1, end):
        if _OPTION.match(lines[index]):
            position = index + 1
    return position


def edit_ini(text: str, settings: Settings) -> str:
    """The text with every option of `settings` set (or removed when None)."""
    lines = text.splitlines()
    for section, options in settings.items():
        for key, value in options.items():
            bounds = _section_bounds(lines)
            if section not in bounds:
                if value is None:
                    continue
                if lines and lines[-1].strip():
                    lines.append("")
                lines.append(f"[{section}]")
                bounds = _section_bounds(lines)
            start, end = bounds[section]
            found = [
                index
                for index in range(start + 1, end)
                if (match := _OPTION.match(lines[index])) and match.group(1) == key
            ]
            if value is None:
                for index in reversed(found):
                    del lines[index]
                continue
            wanted = f"{key} = {render_value(value)}"
            if found:
                lines[found[0]] = wanted
                for index in reversed(found[1:]):
                    del lines[index]
            else:
                lines.insert(_last_content_line(lines, start, end), wanted)
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    """Replace the file at once (a service never reads half of it), keeping its owner/mode."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".stacklab-")
    temporary = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    if path.exists():
        status = path.stat()
        temporary.chmod(status.st_mode & 0o7777)
        os.chown(temporary, status.st_uid, status.st_gid)
    temporary.replace(path)


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "settings": {"type": "dict", "required": True},
            "mode": {"type": "str"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
        },
        supports_check_mode=True,
    )
    path = Path(module.params["path"])
    existed = path.exists()
    old = path.read_text(encoding="utf-8") if existed else ""
    new = edit_ini(old, module.params["settings"])
    changed = new != old
    if changed and not module.check_mode:
        _write(path, new)
    file_args = module.load_file_common_arguments(module.params)
    # An existing file keeps its mode (packages set them); a new one is not world-readable.
    file_args["mode"] = None if existed else (module.params["mode"] or "0640")
    if not module.check_mode and path.exists():
        changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(changed=changed, path=str(path))


if __name__ == "__main__":
    main()
