"""Runs as a job in the local workspace: New Batch's batches carry a signal the retrain learns.
Over ten seeds, a retrain on one batch (the pipeline's own `generate` and `fit`) reaches recall
>= 0.5 at accuracy >= 0.9 on its held-out rows, and about one tower in ten fails. A drifted batch
(`signal_shift`, `failure_rate`) changes the failure rate as asked, and the retrain's range rule
reads every batch since the last trained one. Prints every figure; exits 1
when a target is missed."""

import sys

import numpy as np

from new_batch import generate
from train_xgboost import fit

missed = []
rates, accuracies, recalls = [], [], []
for seed in range(7000, 7010):
    frame = generate(1440, seed)
    _, accuracy, recall, _ = fit(frame)
    rate = float(frame.cell_tower_failure.mean())
    rates.append(rate)
    accuracies.append(accuracy)
    recalls.append(recall)
    print(f"seed {seed}: failure rate {rate:.3f}  accuracy {accuracy:.3f}  recall {recall:.3f}")
    if accuracy < 0.9 or recall < 0.5:
        missed.append(seed)
print(f"over 10 seeds: failure rate {np.mean(rates):.3f}, accuracy min {min(accuracies):.3f} mean {np.mean(accuracies):.3f}, recall min {min(recalls):.3f} mean {np.mean(recalls):.3f}")
if not 0.08 <= np.mean(rates) <= 0.12:
    missed.append("the overall failure rate is not about 1 in 10")

drifted = generate(1440, 7100, signal_shift=3)
higher = generate(1440, 7101, failure_rate=0.3)
print(f"drift: signal_shift=3 fails {drifted.cell_tower_failure.mean():.3f}, failure_rate=0.3 fails {higher.cell_tower_failure.mean():.3f}")
if not drifted.cell_tower_failure.mean() > 0.2 or not 0.25 <= higher.cell_tower_failure.mean() <= 0.35:
    missed.append("a drifted batch does not drift")
for column, (low, high) in {"iot_signal_1": (1, 10), "iot_signal_2": (1, 12), "iot_signal_3": (50, 55), "iot_signal_4": (100, 107)}.items():
    if not (drifted[column].between(low, high).all() and generate(200, 1)[column].between(low, high).all()):
        missed.append(f"{column} left the lab's range {low}..{high}")

# The retrain's range rule: from the newest snapshot back to the last one a successful retrain
# trained on (snapshots 1 → 2 → 3 → 4).
from train_xgboost import choose_range

parents = {1: None, 2: 1, 3: 2, 4: 3}
for trained, given, expected in [
    (set(), None, (4, None, 4)),  # the first retrain reads the whole table
    ({"3"}, None, (4, 3, 1)),  # every retrain succeeded: the newest batch
    ({"2"}, None, (4, 2, 2)),  # the retrain of batch 3 failed: batches 3 and 4
    ({"4"}, None, (4, 3, 1)),  # nothing new: a rerun retrains on the newest batch
    ({"2", "4"}, (3, 2), (3, 2, 1)),  # a retry's range wins
]:
    got = choose_range(parents, 4, trained, given)
    print(f"range with {sorted(trained)} trained, given {given}: {got}")
    if got != expected:
        missed.append(f"range {trained} {given}: {got} instead of {expected}")

if missed:
    print(f"targets missed: {missed}")
    sys.exit(1)
print("the retrain learns the batches' signal")
