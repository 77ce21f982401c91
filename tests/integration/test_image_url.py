"""The spec's image_url on the session's real local AIO lab (conftest.py): a qcow2 served from
127.0.0.1 goes through bootstrap into Glance, active and named after its file; bootstrap
again uploads nothing. The image is deleted afterwards (other tests count the images)."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from conftest import AioLab

from stacklab.bootstrap.decisions import Action
from stacklab.bootstrap.run import bootstrap_lab
from stacklab.bootstrap.url_image import SOURCE_PROPERTY
from stacklab.images.cloud_image import fetch_cloud_image
from stacklab.images.test_image import build_test_image
from stacklab.labcloud.credentials import lab_credentials
from stacklab.openstack_api import connect
from stacklab.runner import LocalRunner

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE_FILE = "tiny-url-image.qcow2"
IMAGE_NAME = "tiny-url-image"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def image_url(tmp_path: Path) -> Iterator[str]:
    """A small qcow2 served over HTTP on 127.0.0.1."""
    www = tmp_path / "www"
    www.mkdir()
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(www / IMAGE_FILE), "32M"], check=True
    )
    handler = functools.partial(Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{IMAGE_FILE}"
    finally:
        server.shutdown()
        server.server_close()


def test_image_url_is_uploaded_once_through_bootstrap(
    lab: AioLab, image_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_image = build_test_image(LocalRunner()).image  # from the lab's cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url_image = fetch_cloud_image(image_url, LocalRunner())
    admin = connect(lab_credentials(lab.name, lab.directory).admin)
    with closing(admin):
        try:
            first = bootstrap_lab(lab.plan, lab.directory, test_image, url_image=url_image)
            made = [(c.kind, c.name, c.action) for c in first.made]
            assert made == [("image", IMAGE_NAME, Action.CREATED)]
            (uploaded,) = admin.images(IMAGE_NAME)
            assert uploaded.status == "active" and uploaded.visibility == "public"
            assert uploaded.properties.get(SOURCE_PROPERTY) == image_url
            again = bootstrap_lab(lab.plan, lab.directory, test_image, url_image=url_image)
            assert again.made == ()
            assert [image.id for image in admin.images(IMAGE_NAME)] == [uploaded.id]
        finally:
            for image in admin.images(IMAGE_NAME):
                admin.delete_image(image.id)
