"""The pure parts of --reload: where the script goes, which changes count, what they mean."""

from __future__ import annotations

import pytest

from minicors.reload import classify, ignored, inject

TAG = b'<script src="/_minicors/reload.js" defer></script>'


@pytest.mark.parametrize(
    ("page", "injected"),
    [
        (b"<html><body><p>x</p></body></html>", b"<html><body><p>x</p>" + TAG + b"</body></html>"),
        (b"<BODY>x</BODY>", b"<BODY>x" + TAG + b"</BODY>"),  # any case
        # The last </body>: an earlier one inside a comment or a script does not count.
        (b"<body><!-- </body> -->x</body>", b"<body><!-- </body> -->x" + TAG + b"</body>"),
        (b"<p>no body element</p>", b"<p>no body element</p>" + TAG),  # else at the end
        (b"", TAG),
    ],
)
def test_inject_puts_the_script_before_the_last_body_end(page: bytes, injected: bytes) -> None:
    assert inject(page) == injected


ROOT = "/srv/site"


@pytest.mark.parametrize(
    ("path", "noise"),
    [
        ("/srv/site/index.html", False),
        ("/srv/site/css/app.css", False),
        ("/srv/site/.git/index", True),
        ("/srv/site/a/.cache/x.js", True),
        ("/srv/site/.env", True),
        ("/srv/site/node_modules/lib/index.js", True),
        ("/srv/site/index.html.swp", True),  # vim
        ("/srv/site/.index.html.swx", True),
        ("/srv/site/4913", True),  # vim's probe file
        ("/srv/site/app.js~", True),  # backup files
        ("/srv/site/#notes.md#", True),  # emacs
        ("/srv/site/.#notes.md", True),
        ("/srv/site/app.js___jb_tmp___", True),  # JetBrains safe write
        ("/srv/site/data.json.crswap", True),  # Chrome's File System Access API
        ("/srv/site/build.tmp", True),
        ("/home/u/.data/db.json", False),  # outside ROOT (the API file): judged by its name
    ],
)
def test_noise_is_ignored(path: str, noise: bool) -> None:
    assert ignored(path, ROOT) is noise


@pytest.mark.parametrize(
    ("changes", "event"),
    [
        ([("modified", "/srv/site/app.css")], ("css", ("/app.css",))),
        (
            [("modified", "/srv/site/b.css"), ("added", "/srv/site/a b/c.css")],
            ("css", ("/a%20b/c.css", "/b.css")),
        ),
        ([("modified", "/srv/site/app.css"), ("modified", "/srv/site/app.js")], ("reload", ())),
        ([("deleted", "/srv/site/app.css")], ("reload", ())),  # its page would lose its style
        ([("modified", "/srv/site/index.html")], ("reload", ())),
        ([("modified", "/home/u/db.json")], ("reload", ())),  # the API file
        ([("modified", "/srv/site-other/x.css")], ("reload", ())),  # not under ROOT
        ([], ("reload", ())),
    ],
)
def test_only_stylesheet_changes_swap_in_place(
    changes: list[tuple[str, str]], event: tuple[str, tuple[str, ...]]
) -> None:
    assert classify(changes, ROOT) == event
