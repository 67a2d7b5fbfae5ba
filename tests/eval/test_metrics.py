"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np

from tinyguardrail.eval.metrics import classification_report, expected_calibration_error, rate, recall_at_fpr, roc_auc


def test_roc_auc_known_values():
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert roc_auc(np.array([0, 1]), np.array([0.2, 0.9])) == 1.0
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5  # ties count half
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))


def test_recall_at_fpr():
    y = np.array([0] * 100 + [1] * 10)
    s = np.concatenate([np.linspace(0, 0.5, 100), np.linspace(0.4, 1.0, 10)])
    # 1% of 100 negatives = 1 negative may score above the threshold -> threshold = 2nd highest negative
    r = recall_at_fpr(y, s, 0.01)
    thr = np.sort(s[:100])[::-1][1]
    assert r == (s[100:] > thr).mean()


def test_classification_report_binary_and_balanced():
    y_true = [0, 0, 0, 0, 1, 2, 3, 3]
    y_pred = [0, 0, 0, 1, 1, 1, 3, 0]
    rep = classification_report(y_true, y_pred)
    assert rep["accuracy"] == 5 / 8
    assert rep["per_class"]["benign"]["recall"] == 0.75
    assert rep["per_class"]["jailbreak"]["recall"] == 0.0
    assert rep["balanced_accuracy"] == (0.75 + 1.0 + 0.0 + 0.5) / 4
    b = rep["binary"]
    assert (b["tp"], b["fp"], b["fn"], b["tn"]) == (3, 1, 1, 3)
    assert b["fpr"] == 0.25


def test_ece_perfectly_calibrated_is_zero():
    conf = np.array([1.0, 1.0, 0.5, 0.5])
    correct = np.array([1, 1, 1, 0])
    assert expected_calibration_error(conf, correct, bins=2) == 0.0


def test_rate():
    assert rate([True, False, False, True]) == 0.5
    assert math.isnan(rate([]))
