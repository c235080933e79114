"""``python -m bench``: the kit's speed, as ratios against baselines timed in the same run.

Every row times one of the kit's pieces (ours) and a baseline side by side,
median of several repeats after a warm-up, and checks the result against a
target from issue 5. Sections:

    conv_matrix  the reference vs scipy.ndimage.correlate and a per-pixel loop
    layers       the notebook's ConvLayer and MaxPool2x2 vs PyTorch CPU float64
    training     one epoch of the notebook's CNN vs the same model in PyTorch,
                 and the notebook's 5-epoch experiment end to end
    checks       test_student_function latency for every task
    grading      grade_class vs ``jupyter nbconvert --execute`` on the same notebooks

SciPy and PyTorch are baselines only: the kit never imports them.
"""
