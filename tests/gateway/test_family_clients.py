"""Students' real clients through a class gateway, the family end to end (issue 24): 9B and
LoRA text-to-image charged at their reserved price, a 4B and a 9B request for one prompt and
seed made (and paid) apart, and an edit of an upload made through the gateway's ticket: two
students who upload the same photo and ask the same fixed-seed edit pay once, and the edit
keeps the photo's size. The upstream is the package's emulator over loopback (conftest's
`class_gw`)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from klein_widget import KleinClient
from klein_widget.client._family import HIGHEST_KNOWN_PRICE_MILLS
from klein_widget.emulator import RunningEmulator
from klein_widget.gateway import RunningGateway
from tests.conftest import fast_options
from tests.gateway import loopback
from tests.gateway.conftest import bearer

SMALL = {"width": 256, "height": 256}


def _client(gw: RunningGateway, token: str) -> KleinClient:
    return KleinClient(token, gw.base_url, gallery=False, **fast_options())


def _spent(gw: RunningGateway, name: str) -> int:
    student = gw.gateway.db.student(name)
    assert student is not None
    return student.spent_mills


def _photo(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(out, "PNG")
    return out.getvalue()


def _upload(gw: RunningGateway, token: str, data: bytes) -> str:
    """A student's upload through the gateway's ticket (the PUT goes to the storage)."""
    asked = {"filename": "photo.png", "size": len(data), "content_type": "image/png"}
    got = loopback.post(gw.base_url + "/api/v3/media/uploads", json=asked, headers=bearer(token))
    ticket = got.json()["data"]
    assert loopback.put(ticket["upload"]["url"], content=data, headers=ticket["upload"]["headers"])
    url: str = ticket["download_url"]
    return url


def test_9b_and_lora_images_are_charged_their_reserved_price(class_gw: RunningGateway) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    with _client(class_gw, ada) as client:
        nine = client.generate("a lighthouse at dusk", model="9b", seed=3, **SMALL)
        styled = client.generate(
            "a lighthouse at dusk", loras=[("owner/ink", 0.8)], seed=3, **SMALL
        )
    assert (nine.model, styled.model) == ("9b", "4b-lora")
    assert nine.prediction.model == "wavespeed-ai/flux-2-klein-9b/text-to-image"
    assert styled.prediction.model == "wavespeed-ai/flux-2-klein-4b/text-to-image-lora"
    assert _spent(class_gw, "ada") == 2 * HIGHEST_KNOWN_PRICE_MILLS
    tasks = class_gw.gateway.db.tasks("completed")
    assert sorted((t.inputs.model, t.inputs.loras) for t in tasks) == [
        ("4b-lora", (("owner/ink", 0.8),)),
        ("9b", ()),
    ]


def test_a_4b_and_a_9b_request_for_one_prompt_and_seed_never_share(
    class_gw: RunningGateway,
) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    bo = class_gw.gateway.db.add_student("bo", 2000)
    with _client(class_gw, ada) as first, _client(class_gw, bo) as second:
        four = first.generate("a red fox in the snow", seed=11, **SMALL)
        nine = second.generate("a red fox in the snow", model="9b", seed=11, **SMALL)
    assert not nine.prediction.cached
    assert (four.model, nine.model) == ("4b", "9b")
    assert (_spent(class_gw, "ada"), _spent(class_gw, "bo")) == (8, HIGHEST_KNOWN_PRICE_MILLS)


def test_two_students_editing_one_photo_pay_once(
    class_gw: RunningGateway, loopback_upstream: RunningEmulator
) -> None:
    db = class_gw.gateway.db
    ada, bo = db.add_student("ada", 2000), db.add_student("bo", 2000)
    photo = _photo(384, 256)
    urls = [_upload(class_gw, token, photo) for token in (ada, bo)]
    with _client(class_gw, ada) as first, _client(class_gw, bo) as second:
        made = first.edit("make it night", [urls[0]], model="9b", seed=5)
        again = second.edit("make it night", [urls[1]], model="9b", seed=5)
    assert Image.open(io.BytesIO(made.image)).size == (384, 256)  # the photo's size kept
    assert again.prediction.cached
    assert again.image == made.image
    assert (_spent(class_gw, "ada"), _spent(class_gw, "bo")) == (16, 0)  # 9B edit: $0.016
    assert loopback_upstream.emulator.accepted == 1  # one image made upstream for the two
    other = _photo(256, 384)
    with _client(class_gw, bo) as second:
        different = second.edit("make it night", [_upload(class_gw, bo, other)], model="9b", seed=5)
    assert not different.prediction.cached  # another photo: another recipe, paid
    assert _spent(class_gw, "bo") == 16


def test_an_edit_on_a_rehearsal_gateway(gateway: RunningGateway) -> None:
    """With the emulator in-process, the ticket's URLs are the gateway's own, and the edit
    reads the upload through them."""
    ada = gateway.gateway.db.add_student("ada", 2000)
    url = _upload(gateway, ada, _photo(320, 256))
    assert url.startswith(gateway.base_url + "/emulator/files/")
    with _client(gateway, ada) as client:
        made = client.edit("make it night", [url], seed=2)
    assert made.model == "4b-edit"
    assert Image.open(io.BytesIO(made.image)).size == (320, 256)
    assert _spent(gateway, "ada") == HIGHEST_KNOWN_PRICE_MILLS  # 4B edit: unconfirmed


def test_students_edit_a_local_file_through_the_gateway_and_pay_once(
    class_gw: RunningGateway, loopback_upstream: RunningEmulator, tmp_path: Path
) -> None:
    """The client's own upload (a ticket from the gateway with the class token, the PUT to
    the storage) then the edit: the same photo from two students is one recipe."""
    db = class_gw.gateway.db
    ada, bo = db.add_student("ada", 2000), db.add_student("bo", 2000)
    photo = tmp_path / "my holiday photo.png"
    photo.write_bytes(_photo(448, 320))
    with _client(class_gw, ada) as first, _client(class_gw, bo) as second:
        made = first.edit("make it night", [photo], model="9b", seed=9)
        again = second.edit("make it night", [photo.read_bytes()], model="9b", seed=9)
    assert Image.open(io.BytesIO(made.image)).size == (448, 320)
    assert again.prediction.cached
    assert (_spent(class_gw, "ada"), _spent(class_gw, "bo")) == (16, 0)
    assert loopback_upstream.emulator.accepted == 1
    sent = db.tasks("completed")[0].inputs.images[0]
    assert "holiday" not in sent  # no local name reaches the gateway or upstream


def test_a_local_file_edit_on_a_rehearsal_gateway(gateway: RunningGateway, tmp_path: Path) -> None:
    ada = gateway.gateway.db.add_student("ada", 2000)
    photo = tmp_path / "photo.png"
    photo.write_bytes(_photo(256, 320))
    with _client(gateway, ada) as client:
        made = client.edit("make it night", [photo], seed=4)
    assert Image.open(io.BytesIO(made.image)).size == (256, 320)
    assert made.model == "4b-edit"
