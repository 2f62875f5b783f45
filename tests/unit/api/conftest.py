import pytest

from tests.unit.api.fakes import Harness, make_harness


@pytest.fixture
def harness() -> Harness:
    return make_harness()
