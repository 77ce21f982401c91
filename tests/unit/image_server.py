"""An HTTP server on 127.0.0.1 in a thread for the image_url tests (this module has no tests
of its own): it serves the files of a directory, remembers the paths asked for, and sends
files under /unsized/ without a Content-Length, as some servers stream."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

UNSIZED = "/unsized/"


class _Handler(http.server.SimpleHTTPRequestHandler):
    asked: list[str]

    def do_GET(self) -> None:
        self.asked.append(self.path)
        if not self.path.startswith(UNSIZED):
            super().do_GET()
            return
        file = Path(self.directory) / self.path.removeprefix(UNSIZED)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()  # HTTP/1.0 without a length: the body ends when the connection does
        self.wfile.write(file.read_bytes())

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ImageServer:
    def __init__(self, root: Path) -> None:
        self.asked: list[str] = []
        handler = type("Handler", (_Handler,), {"asked": self.asked})
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{path.lstrip('/')}"

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
