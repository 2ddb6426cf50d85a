"""Importing handler files: unique module names, sibling imports, and load errors that never stop a load."""

import sys

from tests.handlers.factories import status_handler
from trading.handlers import LoadErrorKind, load_handlers
from trading.handlers.loader import NAMESPACE


def test_each_file_gets_its_own_module_name(handlers_dir, write):
    write("desk1/common.py", status_handler("desk1"))
    write("desk2/common.py", status_handler("desk2"))
    write("my-handler.py", status_handler("dashed"))

    handler_set = load_handlers([handlers_dir])

    modules = [record.module for record in handler_set.handlers]
    assert modules == [
        f"{NAMESPACE}.myhandlers.desk1.common",
        f"{NAMESPACE}.myhandlers.desk2.common",
        f"{NAMESPACE}.myhandlers.my_handler",
    ]
    assert all(sys.modules[name].__file__.startswith(str(handlers_dir)) for name in modules)
    assert not any(name == "hook" or name.endswith(".hook") for name in modules)


def test_sibling_files_import_each_other_and_share_one_module(handlers_dir, write):
    write(
        "shared.py",
        """
        from trading.handlers import IBEventRegistry

        SEEN = []

        @IBEventRegistry.collect("orderStatus")
        def remember(ib, trade):
            SEEN.append(trade)
    """,
    )
    write("a_relative.py", "from . import shared\nfrom .sub import helper\n")
    write(
        "b_absolute.py",
        "from ibhandlers.myhandlers import shared\nfrom ibhandlers.myhandlers.sub.helper import VALUE\n",
    )
    write("sub/helper.py", "from .. import shared\nVALUE = 42\n")

    handler_set = load_handlers([handlers_dir])

    assert handler_set.errors == ()
    assert [record.name for record in handler_set.handlers] == ["remember"]  # executed once, not per import
    shared = sys.modules[f"{NAMESPACE}.myhandlers.shared"]
    assert sys.modules[f"{NAMESPACE}.myhandlers.a_relative"].shared is shared
    assert sys.modules[f"{NAMESPACE}.myhandlers.b_absolute"].shared is shared
    assert sys.modules[f"{NAMESPACE}.myhandlers.sub.helper"].shared is shared


def test_a_file_given_on_its_own_can_import_its_neighbours(handlers_dir, write):
    write("helper.py", "VALUE = 7\n")
    single = write("single.py", "from .helper import VALUE\n" + status_handler("single"))

    handler_set = load_handlers([single])

    assert handler_set.errors == ()
    assert [record.module for record in handler_set.handlers] == [f"{NAMESPACE}.myhandlers.single"]


def test_a_syntax_error_is_reported_with_file_and_line_and_the_other_files_still_load(handlers_dir, write):
    broken = write("broken.py", "x = 1\n\ndef oops(:\n    pass\n")
    write("good.py", status_handler("good"))

    handler_set = load_handlers([handlers_dir])

    [error] = handler_set.errors
    assert (error.kind, error.file, error.line) == (LoadErrorKind.SYNTAX, str(broken), 3)
    assert error.error_type == "SyntaxError"
    assert str(error).startswith(f"{broken}:3: SyntaxError:")
    assert [record.name for record in handler_set.handlers] == ["on_status"]


def test_an_exception_at_import_is_reported_with_its_line_and_traceback(handlers_dir, write):
    raiser = write("raiser.py", status_handler("raiser") + "\nsettings = {}\nsettings['missing']\n")
    write("zzz_good.py", status_handler("good"))

    handler_set = load_handlers([handlers_dir])

    [error] = handler_set.errors
    assert (error.kind, error.file, error.error_type) == (LoadErrorKind.IMPORT, str(raiser), "KeyError")
    assert error.line == raiser.read_text().splitlines().index("settings['missing']") + 1
    assert f'File "{raiser}", line {error.line}' in error.traceback
    assert [record.module.rpartition(".")[2] for record in handler_set.handlers] == ["zzz_good"]


def test_an_error_in_an_imported_sibling_points_at_the_sibling(handlers_dir, write):
    importer = write("importer.py", "from . import zz_faulty\n")
    faulty = write("zz_faulty.py", "raise RuntimeError('no config')\n")

    handler_set = load_handlers([handlers_dir])

    first, second = handler_set.errors
    assert (first.file, first.line, first.loading) == (str(faulty), 1, str(importer))
    assert (second.file, second.loading) == (str(faulty), str(faulty))


def test_exit_at_import_is_captured_not_obeyed(handlers_dir, write):
    write("quits.py", "import sys\nsys.exit(3)\n")

    handler_set = load_handlers([handlers_dir])

    assert [error.error_type for error in handler_set.errors] == ["SystemExit"]


def test_an_unknown_event_name_is_reported_with_file_line_and_suggestion(handlers_dir, write):
    typo = write(
        "typo.py",
        """
        from trading.handlers import IBEventRegistry

        @IBEventRegistry.collect("execDetail")
        def on_fill(ib, trade, fill):
            pass
    """,
    )

    handler_set = load_handlers([handlers_dir])

    [error] = handler_set.errors
    assert (error.kind, error.file, error.line) == (LoadErrorKind.DEFINITION, str(typo), 4)
    assert "unknown IB event 'execDetail'. Did you mean 'execDetails'?" in str(error)
    assert str(error).startswith(f"{typo}:4: ")


def test_a_wrong_signature_rejects_the_whole_file_and_reports_every_problem(handlers_dir, write):
    wrong = write(
        "wrong.py",
        """
        from trading.handlers import IBEventRegistry

        @IBEventRegistry.collect("orderStatus")
        def fine(ib, trade):
            pass

        @IBEventRegistry.collect("execDetails")
        def too_few(ib, trade):
            pass

        @IBEventRegistry.collect("error")
        def also_wrong(ib):
            pass
    """,
    )

    handler_set = load_handlers([handlers_dir])

    assert [(error.file, error.line) for error in handler_set.errors] == [(str(wrong), 8), (str(wrong), 12)]
    assert "cannot be called as execDetails(ib, trade, fill)" in str(handler_set.errors[0])
    assert handler_set.handlers == ()  # half a file never runs on its own


def test_every_load_reads_the_files_afresh(handlers_dir, write):
    path = write("edited.py", status_handler("v1"))
    first = load_handlers([handlers_dir])

    path.write_text(path.read_text().replace("v1", "v2"))  # same size, same second: a .pyc would be stale
    second = load_handlers([handlers_dir])

    assert first.handlers[0].func.__code__.co_consts != second.handlers[0].func.__code__.co_consts
    assert "v2" in second.handlers[0].func.__code__.co_consts
    assert not (handlers_dir / "__pycache__").exists()
