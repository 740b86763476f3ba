"""Uploads landing in an S3-compatible bucket, against a real local S3 HTTP server (moto's
ThreadedMotoServer): listing under the prefix only, download for hashing, objects never
deleted, a replaced object picked up again, and the receipt naming the s3:// location."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.integration]
PERIOD = "2031-03"  # a month no other test uses
BUCKET, PREFIX = "lifecircle-uploads", "landing/"
HEADER = "任务编号,填报单位,进展状态,完成进度(%),截至日期,进展情况及备注\n"
REPORT = HEADER + "A3-01,市商务局,推进中,50,2031-03-20,\n"


@pytest.fixture(scope="module")
def s3(tiny_city):
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test-key", aws_secret_access_key="test-secret",
                          region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    put = {PREFIX + "tp_commerce.csv": REPORT, PREFIX + "notes.txt": "not a survey",
           PREFIX + "sub/ignored.csv": REPORT, "elsewhere.csv": REPORT}
    for key, body in put.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=body.encode("utf-8"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_UPLOADS_BUCKET",
                  f"aws://test-key:test-secret@/?endpoint_url={endpoint}&bucket={BUCKET}&prefix={PREFIX}")
        yield client
    server.stop()


def test_store_lists_only_files_directly_under_the_prefix(s3):
    from lifecircle.ingest import landing_store

    store = landing_store.open_store()
    assert isinstance(store, landing_store.BucketStore)
    assert [f.name for f in store.list()] == ["notes.txt", "tp_commerce.csv"]
    assert store.uri == f"s3://{BUCKET}/{PREFIX}"


def test_ingest_from_the_bucket_registers_and_keeps_every_object(s3, warehouse_url):
    from lifecircle import settings
    from lifecircle.ingest import uploads

    assert uploads.pending(PERIOD)["pending"] == ["notes.txt", "tp_commerce.csv"]
    counts = uploads.ingest(PERIOD)
    assert (counts["files"], counts["accepted"], counts["rejected"]) == (2, 1, 1)
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        rows = {r.file_name: r for r in conn.execute(sa.text("""
            SELECT r.file_name, r.landing_uri, r.landing_version, u.status, u.kind, u.stored_path
            FROM raw.upload_receipt r JOIN raw.upload u USING (upload_id) WHERE r.period = :p"""), {"p": PERIOD})}
    assert set(rows) == {"notes.txt", "tp_commerce.csv"}
    assert rows["tp_commerce.csv"].landing_uri == f"s3://{BUCKET}/{PREFIX}tp_commerce.csv"
    assert (rows["tp_commerce.csv"].kind, rows["tp_commerce.csv"].status) == ("task_progress", "accepted")
    etag = s3.head_object(Bucket=BUCKET, Key=PREFIX + "tp_commerce.csv")["ETag"].strip('"')
    assert rows["tp_commerce.csv"].landing_version == etag
    kept = settings.upload_store_dir() / rows["tp_commerce.csv"].stored_path
    assert kept.read_text(encoding="utf-8") == REPORT
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {PREFIX + "tp_commerce.csv", PREFIX + "notes.txt", PREFIX + "sub/ignored.csv", "elsewhere.csv"}
    assert uploads.pending(PERIOD)["pending"] == []


def test_a_replaced_object_is_picked_up_again(s3, warehouse_url):
    from lifecircle.ingest import uploads

    new = HEADER + "A3-01,市商务局,已完成,100,2031-03-28,\n"
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "tp_commerce.csv", Body=new.encode("utf-8"))
    assert uploads.pending(PERIOD)["pending"] == ["tp_commerce.csv"]
    uploads.ingest(PERIOD)
    with sa.create_engine(warehouse_url).connect() as conn:
        statuses = conn.execute(sa.text("""SELECT s.status FROM raw.upload_receipt r
            JOIN staging.task_progress s USING (upload_id) WHERE r.period = :p AND r.file_name = 'tp_commerce.csv'"""),
                                {"p": PERIOD}).scalars().all()
    assert statuses == ["completed"]
    assert uploads.pending(PERIOD)["pending"] == []


def test_a_bucket_without_a_name_is_a_clear_error(monkeypatch):
    from lifecircle.ingest import landing_store

    monkeypatch.setenv("AIRFLOW_CONN_UPLOADS_BUCKET", "aws://k:s@/?endpoint_url=http%3A%2F%2F127.0.0.1%3A9")
    with pytest.raises(ValueError, match="has no bucket"):
        landing_store.open_store()
