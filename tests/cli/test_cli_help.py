"""``gpulogreg --help`` and each sub-command's: every option explains itself and shows its
default."""

import argparse

import pytest

from gpulogreg import cli


def _subparsers(parser):
    """``{name: parser}`` of the sub-commands of ``parser``."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


PARSER = cli.build_parser()
COMMANDS = _subparsers(PARSER)


def _documented_actions(parser):
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _has_default(action):
    return action.default is not None and action.default is not False \
        and action.default is not argparse.SUPPRESS


def test_the_commands_are_all_there():
    assert set(COMMANDS) == {"demo", "fit", "predict", "summary", "bench"}


@pytest.mark.parametrize("name", [None, *sorted(COMMANDS)])
def test_every_option_has_a_help_text(name):
    parser = PARSER if name is None else COMMANDS[name]
    missing = [a.option_strings or a.dest for a in _documented_actions(parser)
               if not (a.help and a.help.strip())]
    assert not missing, f"gpulogreg {name or ''}: no help for {missing}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_each_default(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    with_default = [a for a in _documented_actions(COMMANDS[name]) if _has_default(a)]
    assert with_default, f"gpulogreg {name} has no option with a default?"
    for action in with_default:
        assert f"(default: {action.default})" in out, \
            f"gpulogreg {name} --help does not show the default of {action.option_strings}"
    # and no "(default: None)" or "(default: False)" noise (some help texts say their own)
    own = sum("(default: " in (a.help or "") for a in _documented_actions(COMMANDS[name]))
    assert out.count("(default: ") == len(with_default) + own, out
