"""The class's images as a lesson pack: `klein gateway export-pack` and the dashboard's
button both write what `klein pack` and students' free re-runs read (`make_pack`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from klein_widget.client._models import GenerationRequest
from klein_widget.gateway import RunningGateway
from klein_widget.store import open_pack
from tests.gateway import loopback

from .conftest import KleinRun, student_client


def test_the_class_store_exports_as_a_lesson_pack(
    gateway: RunningGateway, ada: str, bo: str, tmp_path: Path
) -> None:
    made = {}
    for token, seed in ((ada, 1), (bo, 2), (bo, 1)):  # bo's seed 1 is ada's, from the store
        with student_client(gateway, token) as client:
            made[seed] = client.generate("a lighthouse", width=320, height=256, seed=seed).image
    db = gateway.gateway.db.path
    out = tmp_path / "class.zip"
    done = subprocess.run(
        [sys.executable, "-m", "klein_widget", "gateway", "export-pack", "--db", db, "-o", out],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{out}: 2 images")
    pack = open_pack(out, verify=True)
    assert len(pack) == 2
    for seed, image in made.items():
        found = pack.stored(GenerationRequest("a lighthouse", 320, 256, seed))
        assert found is not None
        assert found.image == image  # the bytes as served to the students

    teacher = {"klein_teacher": gateway.gateway.teacher_token}
    download = loopback.get(f"{gateway.base_url}/dashboard/pack.zip", cookies=teacher, timeout=60)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="class-pack.zip"'
    (tmp_path / "dashboard.zip").write_bytes(download.content)
    assert len(open_pack(tmp_path / "dashboard.zip", verify=True)) == 2
    assert loopback.get(f"{gateway.base_url}/dashboard/pack.zip", timeout=30).status_code == 401


def test_an_empty_class_has_nothing_to_export(
    gateway: RunningGateway, tmp_path: Path, klein_here: KleinRun
) -> None:
    teacher = {"klein_teacher": gateway.gateway.teacher_token}
    r = loopback.get(f"{gateway.base_url}/dashboard/pack.zip", cookies=teacher, timeout=30)
    assert r.status_code == 409
    assert "nothing to pack" in r.json()["message"]
    db = gateway.gateway.db.path
    done = klein_here("export-pack", "--db", db, "-o", str(tmp_path / "x.zip"))
    assert done.returncode == 1
    assert "nothing to pack" in done.stderr
