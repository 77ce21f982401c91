"""Download a file over HTTP(S), streaming, with progress and a size limit. It lands under a
`.part` name and is renamed when complete, so a file at the target is always whole."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from stacklab.errors import HostError

CHUNK = 1024 * 1024
TIMEOUT_S = 30.0
USER_AGENT = "stacklab"
MiB = 1024 * 1024

Progress = Callable[[str], None]


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class DownloadError(HostError):
    """A file could not be downloaded: the URL, what the server or network said, the fix."""


def download(
    url: str,
    target: Path,
    *,
    max_bytes: int,
    fix: str,
    progress: Progress = lambda message: None,
    timeout: float = TIMEOUT_S,
) -> int:
    """Stream url to target; returns its size. fix: what the user can do when it fails."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"Cannot download {url}: only http(s) URLs are fetched.", fix=fix)
    partial = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = _content_length(response.headers.get("Content-Length"))
            if length is not None and length > max_bytes:
                raise _too_large(url, f"its size is {length / MiB:.0f} MiB", max_bytes, fix)
            size = _copy(response, partial, url, length, max_bytes, fix, progress)
    except urllib.error.HTTPError as refused:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"Cannot download {url}: the server answered HTTP {refused.code} {refused.reason}.",
            fix=fix,
        ) from None
    except DownloadError:
        partial.unlink(missing_ok=True)
        raise
    except OSError as failed:  # URLError too: refused, unresolved, timed out, reset
        partial.unlink(missing_ok=True)
        reason = getattr(failed, "reason", None) or failed
        raise DownloadError(
            f"Cannot download {url}: network error: {reason}.",
            fix=f"check this host's internet access and proxy settings (https_proxy); {fix}",
        ) from None
    if length is not None and size != length:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"Cannot download {url}: the transfer ended after {size} of {length} bytes.",
            fix=f"try again; {fix}",
        )
    partial.replace(target)
    return size


def _copy(
    response: Readable,
    partial: Path,
    url: str,
    length: int | None,
    max_bytes: int,
    fix: str,
    progress: Progress,
) -> int:
    name = Path(urlsplit(url).path).name or url
    size = 0
    reported = -1
    with _opened(partial) as sink:
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(
                    url, f"it sent more than {max_bytes / MiB:.0f} MiB", max_bytes, fix
                )
            _write(sink, chunk, partial)
            step = size * 20 // length if length else size // (16 * MiB)
            if step != reported:  # every 5 %, or every 16 MiB when the size is not told
                reported = step
                of = f" of {length / MiB:.1f}" if length else ""
                progress(f"downloading {name}: {size / MiB:.1f}{of} MiB")
    return size


def _opened(partial: Path) -> BinaryIO:
    try:
        return partial.open("wb")
    except OSError as failed:
        raise _not_saved(partial, failed) from None


def _write(sink: BinaryIO, chunk: bytes, partial: Path) -> None:
    try:
        sink.write(chunk)
    except OSError as failed:
        raise _not_saved(partial, failed) from None


def _not_saved(partial: Path, failed: OSError) -> DownloadError:
    """This host's disk failed, not the network."""
    return DownloadError(
        f"Cannot save the download to {partial}: {failed.strerror or failed}.",
        fix="free space in the cache directory ($XDG_CACHE_HOME/stacklab), or make it writable",
    )


def _too_large(url: str, why: str, max_bytes: int, fix: str) -> DownloadError:
    return DownloadError(
        f"Cannot download {url}: {why}, more than the limit of {max_bytes / MiB:.0f} MiB.",
        fix=f"the limit keeps a wrong URL from filling the disk: use a smaller image; {fix}",
    )


def _content_length(header: str | None) -> int | None:
    if header is None or not header.strip().isdigit():
        return None
    return int(header)
