"""`CallResult.denied_by` (a RuleRef) equals the rule's Pulumi name and its id; hashing must never disagree with that."""
import pytest

from rr_pulumi.testing import RuleRef


def test_a_rule_ref_equals_its_name_and_its_id_and_nothing_else():
    ref = RuleRef("no-deletes", "rul_123")
    assert ref == "no-deletes" and "no-deletes" == ref
    assert ref == "rul_123" and "rul_123" == ref
    assert ref != "other" and not (ref == "other")
    assert not (ref != "rul_123") and not (ref != "no-deletes")
    assert ref == RuleRef("no-deletes", None)
    assert ref != 5 and not (ref == None)  # noqa: E711 - the comparison itself is under test


def test_a_default_decision_has_no_id_to_equal():
    ref = RuleRef("default:proxy", None)
    assert ref == "default:proxy" and ref != "None"
    assert ref.startswith("default:") and str(ref) == "default:proxy"


def test_a_rule_ref_is_unhashable_because_it_equals_two_strings_with_different_hashes():
    ref = RuleRef("no-deletes", "rul_123")
    assert hash("no-deletes") != hash("rul_123")  # so no single hash could agree with both equalities
    with pytest.raises(TypeError, match="unhashable"):
        hash(ref)
    with pytest.raises(TypeError, match="unhashable"):
        set([ref])
    assert {str(ref), ref.id} == {"no-deletes", "rul_123"}
