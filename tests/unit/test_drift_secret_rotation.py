"""`credential_secret_rotation`: the plain trace of a secret change that reviewers see in `preview --diff`."""

from rr_pulumi.provider.credential import ROTATION, CredentialProvider, rotation
from rr_pulumi.schema import UNKNOWN

OLD = {"credential_secret": {"api_key": "k-1"}, ROTATION: 3}


def test_counts_changes_of_the_declared_secret_only():
    assert rotation({}, {"credential_secret": {"api_key": "k-1"}}) == 1  # create
    assert rotation(OLD, {"credential_secret": {"api_key": "k-1"}}) == 3
    assert rotation(OLD, {"credential_secret": {"api_key": "k-2"}}) == 4
    assert rotation(OLD, {"credential_secret": UNKNOWN}) == 3  # not known yet: no claim
    assert rotation({"credential_secret": {"api_key": "k-1"}}, {"credential_secret": {"api_key": "k-2"}}) == 1


def test_check_adds_it_and_diff_ignores_it(provider_env):
    p = CredentialProvider()
    inputs = {"client_id": "c1", "credential_name": "callers", "credential_type": "proxy",
              "credential_auth_type": "apiKey", "credential_region": "us-east-1",
              "credential_secret": {"api_key": "k-1"}}
    checked = p.check({}, inputs).inputs
    assert checked[ROTATION] == 1
    rotated = p.check(checked, {**inputs, "credential_secret": {"api_key": "k-2"}}).inputs
    assert rotated[ROTATION] == 2 and "k-2" not in repr(rotated[ROTATION])
    assert p.diff("id", {**checked, ROTATION: 7}, checked).changes is False
