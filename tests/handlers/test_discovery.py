"""Which handler files are found: the IB_DAEMON_HANDLERS rules."""

import os
from pathlib import Path

from trading.handlers import DEFAULT_HANDLERS_DIR, LoadErrorKind, configured_paths, discover_handler_files

REPO_ROOT = Path(__file__).resolve().parents[2]


def names(discovery, root):
    return [str(handler_file.path.relative_to(root)) for handler_file in discovery.files]


def test_it_defaults_to_the_projects_handlers_folder_when_the_variable_is_unset():
    assert DEFAULT_HANDLERS_DIR == REPO_ROOT / "handlers"
    assert configured_paths() == [str(REPO_ROOT / "handlers")]


def test_it_treats_a_blank_variable_or_setting_as_unset(monkeypatch):
    monkeypatch.setenv("IB_DAEMON_HANDLERS", f" {os.pathsep} ")
    assert configured_paths() == [str(DEFAULT_HANDLERS_DIR)]
    assert configured_paths("") == [str(DEFAULT_HANDLERS_DIR)]


def test_it_reads_files_and_folders_from_the_variable_joined_by_pathsep(monkeypatch, tmp_path, write):
    write("b.py")
    write("a.py")
    single = tmp_path / "single.py"
    single.write_text("")
    monkeypatch.setenv("IB_DAEMON_HANDLERS", os.pathsep.join([str(single), str(tmp_path / "myhandlers")]))

    discovery = discover_handler_files()

    assert names(discovery, tmp_path) == ["single.py", "myhandlers/a.py", "myhandlers/b.py"]
    assert discovery.errors == ()


def test_it_searches_folders_recursively_in_sorted_order(handlers_dir, write):
    for relative in ["z.py", "b/deeper/k.py", "a.py", "b/m.py", "b.py"]:
        write(relative)

    discovery = discover_handler_files([handlers_dir])

    assert names(discovery, handlers_dir) == ["a.py", "b/deeper/k.py", "b/m.py", "b.py", "z.py"]


def test_it_skips_init_files_dot_files_dot_folders_and_non_python_files(handlers_dir, write):
    for relative in [
        "__init__.py",
        "sub/__init__.py",
        ".hidden.py",
        ".git/hook.py",
        "__pycache__/x.py",
        "notes.txt",
        "compiled.pyc",
        "README.md",
        "sub/real.py",
    ]:
        write(relative)

    discovery = discover_handler_files([handlers_dir])

    assert names(discovery, handlers_dir) == ["sub/real.py"]
    assert discovery.errors == ()


def test_it_loads_a_file_once_however_often_it_is_reached(handlers_dir, write):
    target = write("a.py")
    (handlers_dir / "alias.py").symlink_to(target)
    (handlers_dir / "loop").symlink_to(handlers_dir)  # a folder symlink cycle must not recurse forever

    discovery = discover_handler_files([handlers_dir, handlers_dir, target, f"{handlers_dir}/../myhandlers"])

    assert [handler_file.real for handler_file in discovery.files] == [str(target.resolve())]


def test_it_names_files_relative_to_the_outermost_configured_folder_whatever_the_order(handlers_dir, write):
    inner = write("sub/inner.py")

    discovery = discover_handler_files([inner, handlers_dir / "sub", handlers_dir])

    assert [handler_file.root for handler_file in discovery.files] == [handlers_dir]


def test_it_reports_a_path_that_does_not_exist_and_still_finds_the_others(tmp_path, handlers_dir, write):
    write("good.py")
    missing = tmp_path / "nowhere"

    discovery = discover_handler_files([missing, handlers_dir])

    assert names(discovery, handlers_dir) == ["good.py"]
    [error] = discovery.errors
    assert error.kind == LoadErrorKind.MISSING_PATH
    assert error.file == str(missing)
    assert "does not exist" in str(error)


def test_it_reports_an_explicitly_named_file_it_would_skip(handlers_dir, write):
    notes = write("notes.txt")

    discovery = discover_handler_files([notes])

    assert discovery.files == ()
    assert [error.kind for error in discovery.errors] == [LoadErrorKind.SKIPPED_FILE]
