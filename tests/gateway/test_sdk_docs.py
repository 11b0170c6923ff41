"""What docs/GATEWAY.md and the README say about WaveSpeed's official SDK: it ignores
``WAVESPEED_BASE_URL`` (so a student must give the gateway in code), and both ways the docs
show of giving it work against a gateway."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wavespeed
from PIL import Image

from klein_widget.client._models import MODEL_ID
from klein_widget.gateway import RunningGateway

INPUT = {"prompt": "a red fox in the snow", "size": "320*256", "seed": 42}


def test_the_sdk_ignores_the_base_url_variable(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVESPEED_BASE_URL", gateway.base_url)
    assert wavespeed.Client(api_key="kgw_x").base_url == "https://api.wavespeed.ai"


def test_the_sdk_with_base_url_in_code_reaches_the_gateway(
    gateway: RunningGateway, ada: str
) -> None:
    client = wavespeed.Client(api_key=ada, base_url=gateway.base_url, retry_interval=0.01)
    output = client.run(MODEL_ID, INPUT, poll_interval=0.02, timeout=30)
    assert output["outputs"][0].startswith(gateway.base_url + "/gateway/images/")


def test_the_sdk_config_base_url_reaches_the_gateway(
    gateway: RunningGateway, ada: str, sdk_config: Callable[..., None]
) -> None:
    sdk_config(base_url=gateway.base_url, api_key=ada)
    output = wavespeed.run(MODEL_ID, INPUT, poll_interval=0.02, timeout=30)
    assert output["outputs"][0].startswith(gateway.base_url + "/gateway/images/")


def test_the_sdks_upload_and_an_edit_through_the_gateway(
    class_gw: RunningGateway, tmp_path: Path
) -> None:
    """The SDK's ``upload()`` (a ticket from the gateway with the class token, the PUT to the
    storage) and ``run()`` of a 9B edit: charged to the student, nothing else to set."""
    ada = class_gw.gateway.db.add_student("ada", 2000)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (320, 256), (20, 60, 120)).save(photo)
    client = wavespeed.Client(api_key=ada, base_url=class_gw.base_url, retry_interval=0.01)
    url = client.upload(str(photo), timeout=30)
    output = client.run(
        "wavespeed-ai/flux-2-klein-9b/edit",
        {"prompt": "make it night", "images": [url], "seed": 3},
        poll_interval=0.02,
        timeout=30,
    )
    assert output["outputs"][0].startswith(class_gw.base_url + "/gateway/images/")
    student = class_gw.gateway.db.student("ada")
    assert student is not None
    assert student.spent_mills == 16
