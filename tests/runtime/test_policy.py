from __future__ import annotations

import pytest

from tinyguardrail.runtime.policy import Policy


def probs(benign, direct=0.0, jailbreak=0.0, obfuscation=0.0):
    return {"benign": benign, "direct_injection": direct, "jailbreak": jailbreak, "obfuscation": obfuscation}


def test_defaults():
    p = Policy()
    assert p.attack_threshold == 0.5 and p.uncertain_margin == 0.1 and p.log_threshold == 0.2


@pytest.mark.parametrize(
    ("scores", "label", "action", "attack_type"),
    [
        (probs(0.95, 0.05), "benign", "allow", 0),
        (probs(0.75, 0.25), "benign", "allow_and_log", 0),  # P(attack) >= log_threshold
        (probs(0.55, 0.45), "uncertain", "human_review", 15),  # in [0.4, 0.5)
        (probs(0.5, 0.2, 0.3), "jailbreak", "block", 2),  # threshold reached; top attack class
        (probs(0.1, 0.1, 0.1, 0.7), "obfuscation", "block", 3),
    ],
)
def test_decide(scores, label, action, attack_type):
    d = Policy().decide(scores, severity=0.8)
    assert (d.label, d.action, d.attack_type) == (label, action, attack_type)


def test_sequence_input_and_confidence():
    d = Policy().decide([0.1, 0.9, 0.0, 0.0], severity=0.5)
    assert d.label == "direct_injection" and d.confidence == 0.9 and d.severity_level == 8


def test_detector_fired_logs_benign():
    assert Policy().decide(probs(0.99, 0.01), 0.0, detector_fired=True).action == "allow_and_log"
    assert Policy(log_on_detector=False).decide(probs(0.99, 0.01), 0.0, detector_fired=True).action == "allow"


def test_review_instead_of_block():
    p = Policy(review_below_confidence=0.8, review_below_severity=10)
    assert p.decide(probs(0.3, 0.7), severity=1.0).action == "human_review"  # confidence 0.7 < 0.8
    assert p.decide(probs(0.05, 0.95), severity=0.2).action == "human_review"  # severity level 3 < 10
    assert p.decide(probs(0.05, 0.95), severity=0.9).action == "block"


def test_class_thresholds():
    p = Policy(class_thresholds={"jailbreak": 0.9}, uncertain_margin=0.0)
    assert p.decide(probs(0.3, 0.0, 0.7), 0.5).label == "benign"
    assert p.decide(probs(0.3, 0.7, 0.0), 0.5).label == "direct_injection"
    assert p.is_attack(probs(0.05, 0.0, 0.95)) and not p.is_attack(probs(0.3, 0.0, 0.7))


def test_margin_zero_disables_uncertain():
    assert Policy(uncertain_margin=0.0).decide(probs(0.55, 0.45), 0.5).label == "benign"


@pytest.mark.parametrize(
    "kwargs",
    [{"attack_threshold": 0.0}, {"attack_threshold": 1.5}, {"uncertain_margin": -0.1}, {"log_threshold": True},
     {"class_thresholds": {"benign": 0.5}}, {"class_thresholds": {"jailbreak": 0.0}}, {"review_below_severity": 20},
     {"views_in_band": 1}],
)
def test_validation(kwargs):
    with pytest.raises(ValueError):
        Policy(**kwargs)


def test_view_decides_with_and_without_the_band():
    p = Policy(attack_threshold=0.6, uncertain_margin=0.1)
    assert p.view_decides(probs(0.35, 0.65)) and not p.view_decides(probs(0.45, 0.55))
    banded = Policy(attack_threshold=0.6, uncertain_margin=0.1, views_in_band=True)
    assert banded.view_decides(probs(0.45, 0.55)) and not banded.view_decides(probs(0.55, 0.45))
    assert p.is_attack(probs(0.45, 0.55), band=True) and not p.is_attack(probs(0.45, 0.55))


def test_decision_level_follows_the_per_class_threshold():
    p = Policy(attack_threshold=0.7, uncertain_margin=0.1, class_thresholds={"jailbreak": 0.45})
    assert p.decision_level(probs(0.5, 0.0, 0.5)) == 2  # jailbreak at 0.5 blocks
    assert p.decision_level(probs(0.38, 0.62)) == 1  # direct injection at 0.62: uncertain, though P(attack) is higher
    assert p.decision_level(probs(0.9, 0.1)) == 0
    assert Policy(attack_threshold=0.7, uncertain_margin=0.0).decision_level(probs(0.35, 0.65)) == 0


def test_from_config_and_to_dict():
    p = Policy.from_config({"thresholds": {"attack": 0.6, "obfuscation": 0.4}, "policy": {"log_threshold": 0.3}})
    assert p.attack_threshold == 0.6 and p.class_thresholds == {"obfuscation": 0.4} and p.log_threshold == 0.3
    assert Policy(**p.to_dict()) == p
    assert Policy.from_config({}) == Policy()
    with pytest.raises(ValueError, match="unknown key"):
        Policy.from_config({"thresholds": {"benign": 0.2}})


# ------------------------------------------------------------------------------------------------ tuning on top of a model


def test_given_fields_are_recorded():
    assert Policy().given_fields == frozenset()
    assert Policy(log_threshold=0.3).given_fields == {"log_threshold"}
    assert Policy(0.6, {}).given_fields == {"attack_threshold", "class_thresholds"}  # positional too
    assert Policy(attack_threshold=0.5).given_fields == {"attack_threshold"}  # given, even when equal to the default
    assert Policy(log_threshold=0.3) == Policy(log_threshold=0.3, attack_threshold=0.5)  # equality ignores it


def test_on_top_of_keeps_the_calibrated_values():
    model = Policy.from_config({"thresholds": {"attack": 0.79, "jailbreak": 0.85}, "policy": {"uncertain_margin": 0.05}})
    tuned = Policy(log_threshold=0.3).on_top_of(model)
    assert tuned.log_threshold == 0.3
    assert tuned.attack_threshold == 0.79 and tuned.threshold("jailbreak") == 0.85 and tuned.uncertain_margin == 0.05
    # a value equal to the default still wins when it is given
    assert Policy(attack_threshold=0.5).on_top_of(model).attack_threshold == 0.5
    # a given field is replaced whole
    assert Policy(class_thresholds={"obfuscation": 0.6}).on_top_of(model).class_thresholds == {"obfuscation": 0.6}
    # nothing given: the model's policy as it is; everything given: the caller's policy as it is
    assert Policy().on_top_of(model) == model
    assert Policy(**Policy().to_dict()).on_top_of(model) == Policy()


def test_replace_and_copies_keep_working():
    import copy
    import dataclasses
    import pickle

    model = Policy.from_config({"thresholds": {"attack": 0.79}})
    assert dataclasses.replace(model, log_threshold=0.3).attack_threshold == 0.79
    tuned = Policy(log_threshold=0.3)
    for clone in (copy.copy(tuned), copy.deepcopy(tuned), pickle.loads(pickle.dumps(tuned))):
        assert clone == tuned and clone.given_fields == {"log_threshold"}


def test_guard_load_keeps_the_model_threshold(tmp_path):
    """The issue's case: Guard.load(policy=Policy(log_threshold=...)) must not reset the calibrated threshold."""
    import _tg_fake_model as fake

    from tinyguardrail.runtime.guard import Guard

    model = fake.build_fake_model(tmp_path / "m", fp32_copies=False,
                                  extra={"thresholds": {"attack": 0.05}, "policy": {"uncertain_margin": 0.0}})
    text = "please bothcheck this"  # P(attack) ~ 0.11: an attack at the model's threshold 0.05, benign at 0.5
    default = Guard.load(model, threads=1, frontend=fake.standin_frontend())
    tuned = Guard.load(model, threads=1, frontend=fake.standin_frontend(), policy=Policy(log_threshold=0.3))
    assert tuned.policy.attack_threshold == 0.05 and tuned.policy.uncertain_margin == 0.0
    assert tuned.policy.log_threshold == 0.3
    assert not default.check(text).is_safe
    assert tuned.check(text).label == default.check(text).label  # the verdict does not flip
