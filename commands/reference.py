"""docs/cli.md, generated from the commands' own --help, so the reference cannot drift from the code.

    python -m devise.commands.reference > docs/cli.md

tests/test_cli_reference.py fails when docs/cli.md differs from what this prints.
"""
import click

HEADER = """# devise command-line reference

Generated from `devise COMMAND --help` by `python -m devise.commands.reference > docs/cli.md`;
do not edit by hand (a test fails when it is stale).
"""
WIDTH = 100  # help text is wrapped to this width, the same on every terminal


def command_help(group: click.Group, name: str | None = None) -> str:
    """The --help text of `group`'s command `name` (None: of the group itself), as `devise ... --help` prints it."""
    # The group's context_settings (its -h) as `devise` itself applies them; a command's context inherits them.
    with click.Context(group, info_name="devise", terminal_width=WIDTH, max_content_width=WIDTH,
                       **group.context_settings) as parent:
        if name is None:
            return group.get_help(parent)
        command = group.get_command(parent, name)
        with click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH,
                           max_content_width=WIDTH) as ctx:
            return command.get_help(ctx)


def reference(group: click.Group) -> str:
    """The whole reference as Markdown: the group's help, then each command's, in alphabetical order."""
    parts = [HEADER, "## devise\n", "```text", command_help(group), "```\n"]
    for name in group.list_commands(click.Context(group)):
        parts += [f"## devise {name}\n", "```text", command_help(group, name), "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    from devise.cli import cli

    print(reference(cli), end="")
