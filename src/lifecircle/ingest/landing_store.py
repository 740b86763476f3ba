"""Where survey uploads land: a folder (default) or an S3-compatible bucket.

Why two: the bureau's staff drop files into a shared folder, but a deployment on several
workers (or a city that collects through a web form writing to object storage) needs a
bucket every worker can read. Both look the same to the intake: ``list()`` the files
waiting, ``fetch()`` one to a local path for hashing and parsing. The landing area is
only ever read — never moved, renamed or deleted — so nothing a person sent can be lost
by the pipeline; the immutable store copy (``settings.upload_store_dir()``) is what the
warehouse keeps.

The bucket is chosen by connection ``uploads_bucket`` (``AIRFLOW_CONN_UPLOADS_BUCKET``,
empty or unset = the folder ``settings.landing_dir()``)::

    aws://ACCESS_KEY:SECRET_KEY@/?endpoint_url=https%3A%2F%2Fminio.example%3A9000&bucket=lifecircle&prefix=landing%2F

extras: ``bucket`` (required), ``prefix`` (optional "folder" in the bucket),
``endpoint_url`` (omit for AWS itself), ``region_name``, ``addressing_style``
(``path`` by default when an endpoint is given — MinIO/Ceph; else boto3's ``auto``).
Without login/password boto3 finds credentials itself (env vars, instance role).
Only the objects directly under the prefix count (like the folder: no sub-folders).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lifecircle import settings

BUCKET_CONN_ID = "uploads_bucket"
BUCKET_ENV = "AIRFLOW_CONN_UPLOADS_BUCKET"


@dataclass(frozen=True)
class LandedFile:
    """One file waiting in the landing area.

    ``version`` changes when the content is replaced under the same name (folder: size
    and mtime; bucket: the ETag); ``landed_at`` is when it landed (mtime /
    LastModified) — the file's own timestamp, never the pipeline's clock."""

    name: str
    size: int
    version: str
    landed_at: datetime
    uri: str


class FolderStore:
    """The landing folder: every non-hidden regular file directly inside it."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @property
    def uri(self) -> str:
        return self.folder.resolve().as_uri()

    def list(self) -> list[LandedFile]:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"landing folder {self.folder} does not exist (LIFECIRCLE_LANDING_DIR)")
        out = []
        for p in sorted(self.folder.iterdir()):
            if p.name.startswith(".") or not p.is_file():
                continue
            st = p.stat()
            out.append(LandedFile(p.name, st.st_size, f"{st.st_size}:{st.st_mtime_ns}",
                                  datetime.fromtimestamp(st.st_mtime, timezone.utc), p.resolve().as_uri()))
        return out

    def fetch(self, entry: LandedFile, workdir: Path) -> Path:
        """The file itself (already local: nothing to copy)."""
        return self.folder / entry.name


class BucketStore:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph, OSS/COS in S3 mode) through boto3."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None, region_name: str | None = None,
                 addressing_style: str | None = None):
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError(f"connection {BUCKET_CONN_ID!r} has no bucket: add ?bucket=NAME to {BUCKET_ENV}")
        self.bucket = bucket
        self.prefix = prefix.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        style = addressing_style or ("path" if endpoint_url else "auto")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=access_key,
                                   aws_secret_access_key=secret_key, region_name=region_name or "us-east-1",
                                   config=Config(s3={"addressing_style": style}, retries={"mode": "standard"}))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def list(self) -> list[LandedFile]:
        out = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, Delimiter="/")
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix):]
                if not name or name.startswith("."):
                    continue
                out.append(LandedFile(name, int(obj["Size"]), obj["ETag"].strip('"'),
                                      obj["LastModified"].astimezone(timezone.utc), f"{self.uri}{name}"))
        return sorted(out, key=lambda f: f.name)

    def fetch(self, entry: LandedFile, workdir: Path) -> Path:
        """Download into ``workdir`` (the object stays in the bucket)."""
        target = Path(workdir) / Path(entry.name).name
        self.client.download_file(self.bucket, self.prefix + entry.name, str(target))
        return target


def from_connection() -> BucketStore:
    """The bucket of connection ``uploads_bucket`` (see the module docstring)."""
    conn = settings.get_connection("uploads_bucket")
    extra = conn.extra
    return BucketStore(extra.get("bucket") or "", extra.get("prefix") or "", endpoint_url=extra.get("endpoint_url"),
                       access_key=conn.login, secret_key=conn.password, region_name=extra.get("region_name"),
                       addressing_style=extra.get("addressing_style"))


def open_store(folder: str | Path | None = None) -> FolderStore | BucketStore:
    """An explicit ``folder`` wins; else the bucket when ``AIRFLOW_CONN_UPLOADS_BUCKET``
    is set (non-empty); else the landing folder."""
    if folder:
        return FolderStore(Path(folder))
    if os.environ.get(BUCKET_ENV, "").strip():
        return from_connection()
    return FolderStore(settings.landing_dir())


def copy_into_store(path: Path, stored: Path) -> None:
    """Keep ``path`` as the read-only ``stored`` copy (written once; a copy already there
    has the same content, its name being the content hash)."""
    if stored.exists():
        return
    tmp = stored.with_name(f".{stored.name}.part")
    tmp.unlink(missing_ok=True)  # left by an interrupted run
    shutil.copyfile(path, tmp)
    tmp.chmod(0o444)
    os.replace(tmp, stored)
