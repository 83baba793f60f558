"""Documentation is pinned to the code: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import click

from icarus.cli.main import cli
from icarus.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"| `{name}` |" in text, f"setting {name} is missing from docs/settings.md"


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, cmd in cli.commands.items():
        if isinstance(cmd, click.Group):
            for sub in cmd.commands:
                assert f"icarus {name} " in readme and sub in readme, f"{name} {sub}"
        else:
            assert f"icarus {name}" in readme, f"command {name} is missing from the README"


def test_exit_codes_are_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in range(5):
        assert f"| {code} |" in readme
