"""What the scripts share around their main(): their flags and one-line errors.

`run(main, script)` defines the script's flags, has absl parse them, and turns a bad flag
or a DrawError into one line on stderr and exit status 2 (an `Interrupted` run: its
message and 128 + signal number); with --verbose, TensorFlow's logs and full tracebacks
are shown. This module imports TensorFlow: a script imports it after
draw.app.startup.start().
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import textwrap

from absl import app, flags, logging

from draw.app import evaluation, generation
from draw.app.flags import FLAGS, RUN_FLAGS, define_flags, define_option_flags
from draw.app.startup import start, verbose
from draw.config import fields_in_group
from draw.errors import DrawError, Interrupted
from draw.options import flag_name

# Each script's own options (train.py's: DrawConfig's training group).
SCRIPTS = {"train.py": None, "generate.py": generation.Options, "evaluate.py": evaluation.Options}
# Each script's command.
COMMANDS = {
    "train.py": "draw-train",
    "generate.py": "draw-generate",
    "evaluate.py": "draw-evaluate",
}

# Flags that name files or folders (of any of the scripts that define them).
PATH_FLAGS = ("logdir", "data_dir", "checkpoint", "out_dir", "compare", "out", "export")


def expand_user_paths(flag_values=FLAGS) -> None:
    """Expands ~ and ~user in every path flag, as a shell does in `--flag ~/x` but not in
    `--flag=~/x`."""
    for name in PATH_FLAGS:
        if name not in flag_values:
            continue
        value = flag_values[name].value
        if isinstance(value, list):
            flag_values[name].value = [os.path.expanduser(v) for v in value]
        elif value:
            flag_values[name].value = os.path.expanduser(value)


HELP_ARGS = ("--help", "-h", "-?", "--helpshort")


def own_flags(script: str) -> list[str]:
    """The flags only some scripts take that script takes: its options' fields, or for
    train.py DrawConfig's training group."""
    options = SCRIPTS[script]
    if options is None:
        return fields_in_group("training")
    return [flag_name(f) for f in dataclasses.fields(options)]


def owners(flag: str, script: str) -> str:
    """The other scripts that take --flag (or the boolean --flag without its "no"), as
    "train.py (draw-train)", or "" if none does."""
    names = {flag, flag[2:] if flag.startswith("no") else flag}
    found = [f"{s} ({COMMANDS[s]})" for s in COMMANDS if s != script and names & set(own_flags(s))]
    return " and ".join(found)


def define_script_flags(options) -> None:
    """Defines the flags of the script of options, and only those of DrawConfig: the
    training group's are removed for generate.py and evaluate.py (they may be defined
    when several scripts run in one process, as in the tests)."""
    training = options is None
    define_flags(training=training)
    if options is not None:
        define_option_flags(options)
    for name in () if training else fields_in_group("training"):
        if name in FLAGS:
            delattr(FLAGS, name)


def help_groups(program: str, options=None) -> list[tuple[str, list[str], dict]]:
    """The flags a script accepts, as (group, flag names, {flag: help replacing absl's}):
    the script's own first (the fields of its options dataclass and the flags its module
    defines), then data, model, training (DrawConfig's fields by their kind's group;
    training for train.py only), run and output (the run flags). A field the options
    share with DrawConfig (--seed) is listed as the script's own."""
    own, texts = [], {}
    for f in dataclasses.fields(options) if options else ():
        own.append(flag_name(f))
        if f.metadata["shared"]:
            texts[flag_name(f)] = f.metadata["help"]
    own += [f.name for f in FLAGS.flags_by_module_dict().get(sys.argv[0], []) if f.name not in own]
    groups = [(program, own)]
    for group in ("data", "model") + (("training",) if options is None else ()):
        groups.append((group, [name for name in fields_in_group(group) if name not in own]))
    groups.append(("run and output", [name for name in RUN_FLAGS if name not in own]))
    return [(title, names, texts) for title, names in groups if names]


def _flag_usage(name: str, help_text: str = "") -> str:
    """One flag's entry: its syntax with the choices, its default, its help wrapped."""
    flag = FLAGS[name]
    choices = getattr(flag.parser, "enum_values", None)
    if flag.boolean:
        syntax = f"--[no]{name}"
    elif choices:
        syntax = f"--{name}=<{'|'.join(choices)}>"
    else:
        kind = {"int": "int", "float": "float"}.get(type(flag.default).__name__, "text")
        syntax = f"--{name}=<{'list' if flag.flag_type().startswith('comma') else kind}>"
    default = flag.default
    if isinstance(default, bool):
        default = str(default).lower()
    default = "" if default in (None, "", []) else f"  (default: {default})"
    text = help_text or re.sub(r"^<[^>]*>: ", "", flag.help)  # absl's enums start so
    body = textwrap.fill(text, 94, initial_indent="      ",
                         subsequent_indent="      ")  # fmt: skip
    return f"  {syntax}{default}\n{body}"


def help_text(program: str, doc: str, script: str = "train.py") -> str:
    """--help: the script's docstring (its `python SCRIPT` as the installed command when
    so invoked, e.g. draw-train), then every flag it accepts, grouped."""
    options, doc = SCRIPTS[script], (doc or "").strip()
    if program == COMMANDS[script]:
        doc = doc.replace(f"python {script}", program)
    lines = [doc, "", f"Flags of {program} (--helpfull also lists absl's):"]
    for title, names, texts in help_groups(program, options):
        lines += ["", f"{title}:"] + [_flag_usage(name, texts.get(name, "")) for name in names]
    return "\n".join(lines)


def run(main, script: str = "train.py") -> None:
    """absl's app.run(main) after start(), with the script's flags defined, and the one
    error path: a bad flag or a DrawError is one line on stderr and its exit status.

    script: "train.py", "generate.py" or "evaluate.py" (its own options' flags are listed
    by --help as its own). --help lists the flags the script accepts, grouped; --helpfull is
    absl's full list.
    """
    start()  # if the script has not
    options, program = SCRIPTS[script], os.path.basename(sys.argv[0])
    define_script_flags(options)
    if any(arg in HELP_ARGS for arg in sys.argv[1:]):
        print(help_text(program, sys.modules[main.__module__].__doc__, script))
        sys.exit(0)
    if not verbose():
        logging.set_verbosity(logging.ERROR)

    def fail(message: str, status: int):
        print(f"{program}: {message}", file=sys.stderr)
        sys.exit(status)

    def parse_flags(argv):
        """absl's parsing, with a bad flag made one line (absl prints two and exits 1)."""
        try:
            argv = FLAGS(argv)
        except flags.UnrecognizedFlagError as e:  # also from a --flagfile
            takes = owners(e.flagname, script)
            if takes:
                fail(f"error: --{e.flagname} is a flag of {takes}, not of {program}", 2)
            fail(f"error: {e}", 2)
        except flags.Error as e:
            fail(f"error: {e}", 2)
        except SystemExit as e:  # absl's --helpfull and --helpxml print, then exit with 1
            if e.code == 1 and {"--helpfull", "--helpxml"} & set(argv):
                sys.exit(0)
            raise
        expand_user_paths()
        return argv

    def guarded(argv):
        try:
            if len(argv) > 1:
                raise DrawError(f"unexpected arguments {argv[1:]}; flags are --name=value")
            main(argv)
        except Interrupted as e:
            fail(str(e), e.exit_status)
        except DrawError as e:
            if verbose():
                raise
            fail(f"error: {e}", e.exit_status)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    app.run(guarded, flags_parser=parse_flags)
