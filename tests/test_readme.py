"""README opens with the two commands, and CI runs the second one verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_the_demo_and_test_commands() -> None:
    demo, tests = readme_commands()[:2]
    assert demo.endswith("manage.py demo")
    assert tests.endswith("-m pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"TEST_COMMAND='{readme_commands()[1]}'" in ci
