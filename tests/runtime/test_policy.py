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
     {"class_thresholds": {"benign": 0.5}}, {"class_thresholds": {"jailbreak": 0.0}}, {"review_below_severity": 20}],
)
def test_validation(kwargs):
    with pytest.raises(ValueError):
        Policy(**kwargs)


def test_from_config_and_to_dict():
    p = Policy.from_config({"thresholds": {"attack": 0.6, "obfuscation": 0.4}, "policy": {"log_threshold": 0.3}})
    assert p.attack_threshold == 0.6 and p.class_thresholds == {"obfuscation": 0.4} and p.log_threshold == 0.3
    assert Policy(**p.to_dict()) == p
    assert Policy.from_config({}) == Policy()
    with pytest.raises(ValueError, match="unknown key"):
        Policy.from_config({"thresholds": {"benign": 0.2}})
