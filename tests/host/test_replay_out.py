"""`sunprint replay --out`: the output folder is replaced only when it is empty or a previous
output of replay itself; anything else (a folder of the user's files, a regular file, a symlink,
the current folder) is refused with one line and exit status 2, and nothing is touched."""

import os

from host_tools.cli import main

LOG = "# sunprint samplelog 1\ntimestamp,power_w\n1728921600,0.0\n1728921610,5.0\n"


def _replay(tmp_path, out, capsys):
    log = tmp_path / "log.csv"
    if not log.exists():
        log.write_text(LOG)
    code = main(
        ["replay", str(log), "--board", "esp32-epd29", "--out", str(out), "--accounting-only"]
    )
    captured = capsys.readouterr()
    return code, captured.err.strip()


def _refused(code, err, *words):
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_folder_of_the_users_files_is_refused(tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8 a photo")
    code, err = _replay(tmp_path, out, capsys)
    _refused(code, err, "photos", "not empty")
    assert (out / "holiday.jpg").read_bytes() == b"\xff\xd8 a photo"
    assert _names(tmp_path) == ["log.csv", "photos"]  # no temporary folder left


def test_a_regular_file_is_refused_and_stays_where_it_is(tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    code, err = _replay(tmp_path, out, capsys)
    _refused(code, err, "notes.txt", "not a folder")
    assert out.read_text() == "my notes"
    assert _names(tmp_path) == ["log.csv", "notes.txt"]  # no .notes.txt.old


def test_a_symlink_is_refused(tmp_path, capsys):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "mine.txt").write_text("mine")
    out = tmp_path / "link"
    out.symlink_to(target)
    code, err = _replay(tmp_path, out, capsys)
    _refused(code, err, "link", "symbolic link")
    assert out.is_symlink() and (target / "mine.txt").read_text() == "mine"
    assert _names(tmp_path) == ["elsewhere", "link", "log.csv"]


def test_the_current_folder_is_refused(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("chapter 1")
    monkeypatch.chdir(work)
    code, err = _replay(tmp_path, ".", capsys)
    _refused(code, err, "current folder")
    assert _names(work) == ["thesis.tex"]
    assert _names(tmp_path) == ["log.csv", "work"]


def test_a_previous_output_is_replaced_and_an_empty_folder_is_used(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    code, err = _replay(tmp_path, out, capsys)
    assert code == 0, err
    first = _names(out)
    assert "summary.json" in first
    code, err = _replay(tmp_path, out, capsys)
    assert code == 0, err
    assert _names(out) == first
    assert _names(tmp_path) == ["log.csv", "out"]


def test_a_file_added_to_a_previous_output_is_not_deleted(tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _replay(tmp_path, out, capsys)
    assert code == 0, err
    (out / "my-analysis.ods").write_text("hours of work")
    code, err = _replay(tmp_path, out, capsys)
    _refused(code, err, "my-analysis.ods")
    assert (out / "my-analysis.ods").read_text() == "hours of work"


def test_another_tools_output_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".sunprint-output.json").write_text('{"tool": "sunprint logs pull", "files": []}')
    (out / "samplelog.csv").write_text("pulled from a unit")
    code, err = _replay(tmp_path, out, capsys)
    _refused(code, err, "sunprint logs pull")
    assert (out / "samplelog.csv").read_text() == "pulled from a unit"


def test_a_users_dot_old_folder_beside_out_is_kept(tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _replay(tmp_path, out, capsys)
    assert code == 0, err
    old = tmp_path / ".out.old"
    old.mkdir()
    (old / "keep.txt").write_text("the user's")
    code, err = _replay(tmp_path, out, capsys)
    assert code == 0, err
    assert (old / "keep.txt").read_text() == "the user's"


def test_a_folder_holding_the_current_folder_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    code, err = _replay(tmp_path, out, capsys)
    assert code == 0, err
    monkeypatch.chdir(out)
    code, err = _replay(tmp_path, os.path.join("..", "out"), capsys)
    _refused(code, err, "current folder")
    assert (out / "summary.json").exists()


def test_an_unmarked_folder_of_files_with_replays_names_is_refused(tmp_path, capsys):
    # names replay writes are no proof that replay wrote them: only the marker is
    out = tmp_path / "pics"
    (out / "frames").mkdir(parents=True)
    (out / "plot.png").write_text("mine")
    (out / "summary.json").write_text("{}")
    (out / "frames" / "0001-000010-full.png").write_text("mine too")
    code, err = _replay(tmp_path, out, capsys)
    _refused(code, err, "pics", "not empty")
    assert (out / "plot.png").read_text() == "mine"
    assert (out / "summary.json").read_text() == "{}"
    assert (out / "frames" / "0001-000010-full.png").read_text() == "mine too"
    assert _names(tmp_path) == ["log.csv", "pics"]


def test_an_out_whose_parent_cannot_be_written_is_one_line(tmp_path, capsys, monkeypatch):
    for out in ("/proc/sunprint-x", "/sys/sunprint-x/y"):
        code, err = _replay(tmp_path, out, capsys)
        _refused(code, err, "--out", out)
    # a read-only filesystem (as root, chmod cannot make one): the OS's EROFS
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    code, err = _replay(tmp_path, tmp_path / "out", capsys)
    _refused(code, err, "--out", "Read-only file system")
    assert _names(tmp_path) == ["log.csv"]


def test_a_failed_run_removes_the_parent_folders_it_made_and_no_others(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("# sunprint samplelog 1\ntimestamp,power_w\n")  # no samples: the run fails
    (tmp_path / "new1").mkdir()
    code, err = _replay(tmp_path, tmp_path / "new1" / "new3" / "new4" / "out", capsys)
    _refused(code, err, "no samples")
    assert _names(tmp_path) == ["log.csv", "new1"]
    assert _names(tmp_path / "new1") == []


def test_an_out_under_a_file_says_it_is_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    for out in (tmp_path / "afile" / "x", tmp_path / "afile" / "x" / "y"):
        code, err = _replay(tmp_path, out, capsys)
        _refused(code, err, "afile", "is a file")
        assert "does not exist" not in err
    assert (tmp_path / "afile").read_text() == "mine"
