"""The intra-op thread choice of --intra_op_threads (draw.distribute)."""

import os

import pytest

from draw.configure import make_config
from draw.distribute import AUTO_THREADS as AUTO
from draw.distribute import intra_op_threads_for
from draw.errors import DrawError


@pytest.mark.parametrize("preset", ["jang", "paper_mnist"])
def test_auto_trains_small_models_on_cpu_with_one_thread_per_op(preset):
    assert intra_op_threads_for(AUTO, make_config(preset), accelerator=False) == 1


def test_auto_keeps_tensorflows_default_for_large_models_accelerators_tpus_and_xla():
    assert intra_op_threads_for(AUTO, make_config("paper_svhn"), accelerator=False) is None
    assert intra_op_threads_for(AUTO, make_config("jang"), accelerator=True) is None
    for other in (dict(strategy="tpu"), dict(jit_compile=True)):
        assert intra_op_threads_for(AUTO, make_config("jang", **other), accelerator=False) is None
    # generate.py and evaluate.py (no config): TensorFlow's default
    assert intra_op_threads_for(AUTO, None, accelerator=False) is None


def test_an_explicit_count_wins_and_zero_means_tensorflows_default():
    big = make_config("paper_svhn")
    assert intra_op_threads_for(2, big, accelerator=True) == 2  # CI machines have 2 cores
    assert intra_op_threads_for(0, make_config("jang"), accelerator=False) is None


def test_more_threads_than_the_machine_has_logical_cpus_are_refused():
    cpus = os.cpu_count()
    assert intra_op_threads_for(cpus, make_config("jang"), accelerator=False) == cpus
    with pytest.raises(DrawError, match=f"--intra_op_threads={cpus + 1} exceeds the {cpus} "):
        intra_op_threads_for(cpus + 1, make_config("jang"), accelerator=False)


def test_a_negative_count_other_than_auto_is_refused():
    with pytest.raises(DrawError, match="--intra_op_threads=-2"):
        intra_op_threads_for(-2, make_config("jang"), accelerator=False)


def test_configure_after_the_runtime_started_keeps_the_count_in_force():
    import tensorflow as tf

    from draw.distribute import configure_threads as configure
    from draw.distribute import threads_in_force as in_force

    tf.constant(1.0) + 1.0  # the runtime is running in the test process
    current = in_force()
    assert configure(AUTO, make_config("jang")) == current
    assert configure(current or 0) == current
    other = 2 if current == 1 else 1  # another count the machine has (2 cores or more)
    with pytest.raises(DrawError, match=f"--intra_op_threads={other} cannot be applied"):
        configure(other)
    assert in_force() == current
