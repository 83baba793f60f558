"""The networks view: import from a results folder (coordinators only, bad input named),
need to know (an agency sees only networks with its own leads, and of other members only
counts per country), the graph (SVG without another agency's subjects), the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from icarus.coord import AuditLog
from icarus.coord.networks import Networks, read_networks
from icarus.core.errors import InputError, NotFoundError, PermissionDeniedError
from tests.coord.world import OPERATION, World
from tests.web.conftest import Browser
from tests.web.networks_world import CORE, import_networks, write_results

SVG = "{http://www.w3.org/2000/svg}"


def test_import_counts_links_and_categories(world: World, tmp_path: Path) -> None:
    nets = Networks(world.db)
    done = nets.import_networks(world.actors["coordinator"], OPERATION,
                                write_results(tmp_path / "r"))
    assert (done.networks, done.members, done.member_leads, done.replaced) == (2, 5, 4, 0)
    mixed = next(n for n in nets.list_networks(world.actors["coordinator"])
                 if n.label == "mixed")
    assert (mixed.size, mixed.known_earlier, mixed.visible_leads) == (4, False, 3)
    detail = nets.get_network(world.actors["coordinator"], mixed.id)
    # The category comes from the imported leads' evidence; a digest no lead holds has none.
    assert {(f.digest, f.category) for f in detail.core_files} == {
        (CORE, "1"), ("sha1:" + "1" * 40, None)}
    again = nets.import_networks(world.actors["coordinator"], OPERATION, tmp_path / "r")
    assert again.replaced == 2
    assert len(nets.list_networks(world.actors["coordinator"])) == 2


def test_without_details_the_members_are_counted(world: World, tmp_path: Path) -> None:
    networks, members, country = read_networks(write_results(tmp_path, details=False))
    mixed = next(n for n in networks if n["label"] == "mixed")
    assert mixed["size"] == 4 and mixed["countries"][0] == "FR"
    assert sorted(members["mixed"]) == ["de-1", "fr-1", "fr-2", "it-9"]
    assert country["it-9"] == "IT"


@pytest.mark.parametrize("who", ["officer_fr", "analyst", "admin", "auditor"])
def test_only_coordinators_import(world: World, tmp_path: Path, who: str) -> None:
    with pytest.raises(PermissionDeniedError):
        Networks(world.db).import_networks(world.actors[who], OPERATION,
                                           write_results(tmp_path))


def test_bad_results_are_named(world: World, tmp_path: Path) -> None:
    coordinator = world.actors["coordinator"]
    nets = Networks(world.db)
    with pytest.raises(InputError, match=r"no networks\.parquet or networks\.csv"):
        nets.import_networks(coordinator, OPERATION, tmp_path)
    (tmp_path / "networks.csv").write_text("subject_id,network\nfr-1,a\n,b\n", "utf-8")
    with pytest.raises(InputError, match=r"networks\.csv: row 2: column 'subject_id' is empty"):
        nets.import_networks(coordinator, OPERATION, tmp_path)
    (tmp_path / "networks.csv").write_text("subject_id,network\nfr-1,a\nfr-1,b\n", "utf-8")
    with pytest.raises(InputError, match="row 2: subject 'fr-1' is in two networks"):
        nets.import_networks(coordinator, OPERATION, tmp_path)
    (tmp_path / "networks.csv").write_text("subject,network\nfr-1,a\n", "utf-8")
    with pytest.raises(InputError, match="column 'subject_id' is missing"):
        nets.import_networks(coordinator, OPERATION, tmp_path)
    with pytest.raises(NotFoundError):
        nets.import_networks(coordinator, "no-such-op", tmp_path)


def test_an_agency_sees_its_networks_and_only_counts_of_others(world: World) -> None:
    ids = import_networks(world)
    nets = Networks(world.db)
    officer = world.actors["officer_fr"]
    assert [n.label for n in nets.list_networks(officer)] == ["mixed"]
    detail = nets.get_network(officer, ids["mixed"])
    assert dict(detail.members_by_country) == {"FR": 2, "DE": 1, "IT": 1}
    assert {x.subject_id for x in detail.leads} == {"fr-1", "fr-2"}
    assert detail.leads_total == 2
    fr1, fr2 = world.leads["FR"]
    assert detail.edges == ((min(fr1, fr2), max(fr1, fr2), 1),)  # both hold CORE
    with pytest.raises(NotFoundError) as other:
        nets.get_network(officer, ids["de-only"])
    with pytest.raises(NotFoundError) as missing:
        nets.get_network(officer, 987_654)
    assert str(other.value).replace(str(ids["de-only"]), "N") == str(missing.value).replace(
        "987654", "N")
    # DE's officer sees both networks, and in "mixed" only its own lead.
    officer_de = world.actors["officer_de"]
    assert {n.label for n in nets.list_networks(officer_de)} == {"mixed", "de-only"}
    assert [x.subject_id for x in nets.get_network(officer_de, ids["mixed"]).leads] == ["de-1"]


def test_network_api_and_page_leak_no_other_agency(browser: Browser) -> None:
    ids = import_networks(browser.world)
    client, _ = browser.client("officer_fr")
    body = client.get(f"/api/v1/networks/{ids['mixed']}").json()
    assert {x["subject_id"] for x in body["leads"]} == {"fr-1", "fr-2"}
    assert {(c["country"], c["members"]) for c in body["members_by_country"]} == {
        ("FR", 2), ("DE", 1), ("IT", 1)}
    page = client.get(f"/networks/{ids['mixed']}").text
    for text in (json.dumps(body), page):
        assert "de-1" not in text and "it-9" not in text
        for lead in browser.world.leads["DE"]:
            assert f"/leads/{lead}\"" not in text
    coordinator, _ = browser.client("coordinator")
    full = coordinator.get(f"/api/v1/networks/{ids['mixed']}").json()
    assert {x["subject_id"] for x in full["leads"]} == {"fr-1", "fr-2", "de-1"}


def _nodes(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - the app's own SVG
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_graph_svg_is_scoped(browser: Browser) -> None:
    ids = import_networks(browser.world)
    fr1, fr2 = browser.world.leads["FR"]
    de1 = browser.world.leads["DE"][0]
    client, _ = browser.client("officer_fr")
    response = client.get(f"/networks/{ids['mixed']}/graph.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = response.text
    labels = _nodes(svg)
    assert f"#{fr1}" in labels and f"#{fr2}" in labels
    assert f"#{de1}" not in labels and "DE 1" in labels and "IT 1" in labels
    assert "de-1" not in svg and "<script" not in svg and "style=" not in svg
    root = ET.fromstring(svg)  # noqa: S314 - the app's own SVG
    assert len(list(root.iter(f"{SVG}line"))) == 1  # the co-sharing edge of the FR leads
    coordinator, _ = browser.client("coordinator")
    labels = _nodes(coordinator.get(f"/networks/{ids['mixed']}/graph.svg").text)
    assert f"#{de1}" in labels and "IT 1" in labels and "DE 1" not in labels


def test_networks_are_audited(world: World) -> None:
    ids = import_networks(world)
    Networks(world.db).get_network(world.actors["officer_fr"], ids["mixed"])
    events = AuditLog(world.db).list_events(world.actors["auditor"], limit=5).items
    read = next(e for e in events if e.action == "network.read")
    assert sorted(read.details["lead_ids"]) == sorted(world.leads["FR"])
    assert any(e.action == "networks.import" for e in events)
