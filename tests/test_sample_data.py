"""The sample files shipped with the package are the sample records, in the interchange format."""

from edqueue.sample import (
    data_files,
    neighbour_applications,
    seed_application,
    shakhtinsk_organizations,
)
from edqueue.schemas import parse_application, parse_organizations


def test_the_shipped_files_hold_the_sample_records() -> None:
    organizations, applications = data_files()
    assert parse_organizations(organizations.read_text(encoding="utf-8")) == list(
        shakhtinsk_organizations()
    )
    lines = applications.read_text(encoding="utf-8").splitlines()
    assert [parse_application(line) for line in lines] == [
        seed_application(),
        *neighbour_applications(),
    ]
