"""The ConvLSTM builders: shapes, layers of each variant, config validation, registry, save/reload."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from nids.errors import BadInputError, NidsError, UnknownNameError  # noqa: E402
from nids.frames import FrameConfig, check_frames, to_frames  # noqa: E402
from nids.models.convlstm import (  # noqa: E402
    DEEP_BUILDERS,
    DeepConfig,
    FusedConvLSTM2D,
    build_bigru_seq2seq_convlstm,
    build_deep_model,
    build_seq2seq_convlstm,
    fuse_convlstm,
    make_predict_fn,
)

ROOT = Path(__file__).resolve().parents[2]
FRAMES = FrameConfig(timesteps=4, height=2, width=4)  # 32 cells: tiny and fast
SHAPE = FRAMES.shape
TINY = DeepConfig(encoder_filters=(2, 4), rnn_units=4, dropout=0.1)


def _layers(model) -> list:
    """All layers, with the forward/backward RNNs of Bidirectional wrappers expanded."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.layers.Bidirectional):
            out += [layer.forward_layer, layer.backward_layer]
    return out


def _types(model) -> list[str]:
    """Layer class names; the fused ConvLSTM2D (same weights and outputs) counts as ``ConvLSTM2D``."""
    return ["ConvLSTM2D" if isinstance(layer, keras.layers.ConvLSTM2D) else type(layer).__name__ for layer in _layers(model)]


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    rng = np.random.default_rng(0)
    return to_frames(rng.normal(size=(6, 29)), FRAMES)


@pytest.mark.parametrize("name", sorted(DEEP_BUILDERS))
@pytest.mark.parametrize("n_classes", [2, 10])
def test_every_variant_outputs_probabilities(name, n_classes, x):
    model = DEEP_BUILDERS[name](SHAPE, n_classes, TINY)
    assert model.name == name
    assert model.input_shape == (None, *SHAPE)
    assert model.output_shape == (None, n_classes)
    assert model.count_params() > 0
    proba = np.asarray(model(x, training=False))
    assert proba.shape == (len(x), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (proba >= 0).all()


def test_baseline_layers():
    model = build_seq2seq_convlstm(SHAPE, 10, TINY)
    types = _types(model)
    assert types.count("ConvLSTM2D") == 3  # two encoder blocks + one decoder block
    assert types.count("BatchNormalization") == 3
    assert types.count("MaxPooling3D") == 1 and types.count("UpSampling3D") == 1
    assert types.count("Dropout") == 3
    assert "GlobalAveragePooling3D" in types
    assert not {"GRU", "LSTM", "Bidirectional", "Concatenate"} & set(types)
    for layer in _layers(model):
        if isinstance(layer, keras.layers.ConvLSTM2D):
            assert layer.return_sequences
    assert model.get_layer("enc_pool_0").output.shape[2:4] == (1, 2)  # 2x4 frames pooled 2x2
    assert model.get_layer("dec_convlstm_0").output.shape[1:4] == (4, 2, 4)  # reconstructed T, H, W
    head = model.get_layer("probabilities")
    assert head.units == 10 and head.activation.__name__ == "softmax"


def test_extension_has_bigru_gru_decoder_and_merge():
    model = build_bigru_seq2seq_convlstm(SHAPE, 2, TINY)
    assert model.name == "bigru_seq2seq_convlstm"
    bigru = model.get_layer("enc_bigru")
    assert isinstance(bigru, keras.layers.Bidirectional)
    assert isinstance(bigru.forward_layer, keras.layers.GRU)
    assert isinstance(bigru.backward_layer, keras.layers.GRU)
    assert bigru.output.shape == (None, 4, 2 * TINY.rnn_units)
    assert isinstance(model.get_layer("dec_gru"), keras.layers.GRU)
    types = _types(model)
    assert "LSTM" not in types
    assert types.count("ConvLSTM2D") == 3 and "UpSampling3D" in types
    hybrid = model.get_layer("hybrid")
    assert isinstance(hybrid, keras.layers.Concatenate)
    # BiGRU features (2 * units) next to the decoder's per-step features (first-block filters).
    assert hybrid.output.shape == (None, 4, 2 * TINY.rnn_units + TINY.encoder_filters[0])
    assert model.count_params() > build_seq2seq_convlstm(SHAPE, 2, TINY).count_params()


def test_lstm_twin_and_unidirectional_variant():
    twin = build_bigru_seq2seq_convlstm(SHAPE, 10, DeepConfig(encoder_filters=(2, 4), rnn_units=4, decoder_rnn="lstm"))
    assert isinstance(twin.get_layer("dec_lstm"), keras.layers.LSTM)
    assert isinstance(twin.get_layer("enc_bigru"), keras.layers.Bidirectional)
    assert "GRU" in _types(twin)  # the encoder's BiGRU stays

    uni = build_bigru_seq2seq_convlstm(SHAPE, 10, DeepConfig(encoder_filters=(2, 4), rnn_units=4, bidirectional=False))
    assert uni.name == "gru_seq2seq_convlstm"
    assert "Bidirectional" not in _types(uni)
    assert isinstance(uni.get_layer("enc_gru"), keras.layers.GRU)
    assert uni.get_layer("enc_gru").output.shape == (None, 4, 4)


@pytest.mark.parametrize(
    ("name", "present", "absent"),
    [
        ("seq2seq_convlstm_gru_decoder", {"GRU", "UpSampling3D"}, {"Bidirectional", "LSTM", "Concatenate"}),
        ("seq2seq_convlstm_bigru", {"Bidirectional", "GRU"}, {"LSTM", "Concatenate"}),
        ("bigru_seq2seq_convlstm", {"Bidirectional", "GRU", "Concatenate"}, {"LSTM"}),
        ("gru_seq2seq_convlstm", {"GRU", "Concatenate"}, {"Bidirectional", "LSTM"}),
        ("bigru_seq2seq_convlstm_lstm_decoder", {"Bidirectional", "GRU", "LSTM", "Concatenate"}, set()),
    ],
)
def test_registry_variants_force_their_flags(name, present, absent):
    # A config asking for the opposite must not change what the registry name means.
    opposite = DeepConfig(encoder_filters=(2, 4), rnn_units=4, use_bigru=False, decoder_rnn="none", merge=False)
    types = set(_types(DEEP_BUILDERS[name](SHAPE, 3, opposite)))
    assert present <= types
    assert not absent & types
    assert "ConvLSTM2D" in types


def test_seq2seq_convlstm_bigru_counts():
    model = DEEP_BUILDERS["seq2seq_convlstm_bigru"](SHAPE, 3, TINY)
    types = _types(model)
    assert types.count("Bidirectional") == 1
    assert types.count("GRU") == 2  # forward + backward, no GRU decoder


def test_registry_names_and_unknown_name():
    assert set(DEEP_BUILDERS) == {
        "seq2seq_convlstm",
        "bigru_seq2seq_convlstm",
        "seq2seq_convlstm_gru_decoder",
        "seq2seq_convlstm_bigru",
        "bigru_seq2seq_convlstm_lstm_decoder",
        "gru_seq2seq_convlstm",
    }
    assert build_deep_model("seq2seq_convlstm", SHAPE, 2, TINY).output_shape == (None, 2)
    with pytest.raises(UnknownNameError, match="unknown deep model 'convlstm9'; expected one of: bigru_seq2seq_convlstm"):
        build_deep_model("convlstm9", SHAPE, 2)


def test_default_config_builds_for_default_frames():
    model = build_bigru_seq2seq_convlstm((4, 4, 4, 1), 10)
    assert model.output_shape == (None, 10)
    assert DeepConfig() == DeepConfig()
    assert not DeepConfig().jit_compile  # XLA training was measured slower on CPU


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"encoder_filters": ()}, "encoder_filters must be a non-empty tuple"),
        ({"encoder_filters": (8, 0)}, "encoder_filters must be a non-empty tuple"),
        ({"kernel_size": 0}, "kernel_size must be a positive int"),
        ({"rnn_units": 2.5}, "rnn_units must be a positive int"),
        ({"pool_blocks": 3}, r"pool_blocks must be an int in 1..2"),
        ({"pool_blocks": 0}, r"pool_blocks must be an int in 1..2"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"decoder_rnn": "rnn"}, "decoder_rnn must be one of none, gru, lstm; got 'rnn'"),
        ({"bidirectional": "yes"}, "bidirectional must be a bool"),
    ],
)
def test_deep_config_validated(bad, message):
    with pytest.raises(NidsError, match=f"DeepConfig.{message}"):
        DeepConfig(**bad)


def test_deep_config_normalises_filters_to_tuple():
    assert DeepConfig(encoder_filters=[4, 8]).encoder_filters == (4, 8)


def test_builders_reject_bad_input_shape_and_classes():
    with pytest.raises(BadInputError, match=r"input_shape must be one flow's frames \(T, H, W, 1\); got \(4, 2, 4\)"):
        build_seq2seq_convlstm((4, 2, 4), 2, TINY)
    with pytest.raises(BadInputError, match="H x W = 3 x 4 cannot round-trip 1 2x2"):
        build_bigru_seq2seq_convlstm((4, 3, 4, 1), 2, TINY)
    with pytest.raises(BadInputError, match="divisible by 4"):
        build_seq2seq_convlstm((4, 2, 4, 1), 2, DeepConfig(encoder_filters=(2, 4), pool_blocks=2))
    with pytest.raises(BadInputError, match="n_classes must be an int >= 2"):
        build_seq2seq_convlstm(SHAPE, 1, TINY)


def test_two_pool_blocks_round_trip():
    model = build_bigru_seq2seq_convlstm((4, 4, 4, 1), 3, DeepConfig(encoder_filters=(2, 4), rnn_units=4, pool_blocks=2))
    assert model.get_layer("enc_pool_1").output.shape[1:4] == (4, 1, 1)
    assert model.get_layer("dec_convlstm_0").output.shape[1:4] == (4, 4, 4)


def test_check_frames_guards_model_input(x):
    with pytest.raises(BadInputError, match=r"\(n_flows, 4, 2, 4, 1\)"):
        check_frames(x.reshape(len(x), -1), FRAMES)


def test_make_predict_fn_matches_model_call(x):
    model = build_bigru_seq2seq_convlstm(SHAPE, 10, TINY)
    expected = np.asarray(model(x, training=False))
    predict = make_predict_fn(model, jit_compile=False)
    out = predict(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (len(x), 10)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict(x[:1]), expected[:1], rtol=1e-5, atol=1e-6)  # any batch size
    assert predict(x[:0]).shape == (0, 10)
    # "auto": 3 rows run XLA-compiled, zero-padded to 4; the padding rows are dropped.
    np.testing.assert_allclose(make_predict_fn(model)(x[:3]), expected[:3], rtol=1e-4, atol=1e-5)
    with pytest.raises(BadInputError, match=r"\(n_flows, 4, 2, 4, 1\)"):
        predict(x[:, :2])
    with pytest.raises(NidsError, match="jit_compile must be True, False or 'auto'"):
        make_predict_fn(model, jit_compile="always")


@pytest.mark.parametrize("name", sorted(DEEP_BUILDERS))
def test_fused_inference_copy_equals_the_stock_model(name, x):
    model = DEEP_BUILDERS[name](SHAPE, 10, TINY)
    _randomise_weights(model, np.random.default_rng(3))
    fused = fuse_convlstm(model)
    stock = [layer.name for layer in model.layers if type(layer) is keras.layers.ConvLSTM2D]
    assert len(stock) == 3
    assert all(isinstance(fused.get_layer(n), FusedConvLSTM2D) for n in stock)
    assert not any(isinstance(layer, FusedConvLSTM2D) for layer in model.layers)  # the saved model keeps built-ins
    expected = np.asarray(model(x, training=False))
    assert np.ptp(expected, axis=0).max() > 1e-4
    np.testing.assert_allclose(np.asarray(fused(x, training=False)), expected, rtol=1e-4, atol=1e-6)
    assert fuse_convlstm(fused) is fused


def test_a_few_training_steps_reduce_loss():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 32)
    X = rng.normal(size=(64, 29)) + y[:, None] * 1.5  # separable by the mean
    xs = to_frames(X, FRAMES)
    keras.utils.set_random_seed(0)
    model = build_bigru_seq2seq_convlstm(SHAPE, 2, dataclasses.replace(TINY, unroll=False))  # rolled: traces faster
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    before = model.evaluate(xs, y, verbose=0)
    model.fit(xs, y, batch_size=16, epochs=2, verbose=0)
    assert model.evaluate(xs, y, verbose=0) < before


def test_training_state_is_built_before_fit_and_epochs_are_timed():
    """``build_training_state`` creates every optimizer/metric variable, so ``fit`` creates none inside
    its traced step (a tf.function that creates variables is traced twice); the timer splits out validation."""
    from nids.deep import EpochTimer, build_training_state

    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 32)
    xs = to_frames(rng.normal(size=(64, 29)), FRAMES)
    model = build_seq2seq_convlstm(SHAPE, 2, dataclasses.replace(TINY, unroll=False))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def state() -> int:
        return len(model.optimizer.variables) + sum(len(m.variables) for m in model.metrics)

    assert not model.optimizer.built
    build_training_state(model, xs[:1], y[:1])
    built = state()
    assert model.optimizer.built and len(model.optimizer.variables) > 2 * len(model.trainable_variables) - 1
    timer = EpochTimer()
    model.fit(xs, y, validation_data=(xs, y), batch_size=16, epochs=2, verbose=0, callbacks=[timer])
    assert state() == built
    assert len(timer.seconds) == len(timer.validation_seconds) == 2
    assert all(0 < v < s for v, s in zip(timer.validation_seconds, timer.seconds, strict=True))


_RELOAD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import nids
    x = np.load(sys.argv[1])
    for path in sys.argv[2:]:
        model = keras.models.load_model(path)
        np.save(path + ".npy", np.asarray(model(x, training=False)))
    """
)


def _randomise_weights(model, rng: np.random.Generator) -> None:
    """Move every weight, BatchNorm statistics included, away from its initial value (no training needed).

    Moving variances are set small, as a trained model's are for these small activations, so that
    the input still reaches the output through every BatchNormalization.
    """
    for var in model.weights:
        value = rng.normal(scale=0.3, size=var.shape)
        if "moving_variance" in var.path:
            value = rng.uniform(1e-3, 1e-2, size=var.shape)
        elif "moving_mean" in var.path:
            value = rng.normal(scale=0.05, size=var.shape)
        var.assign(value.astype(var.dtype))


def test_save_and_reload_in_a_fresh_process_gives_identical_predictions(tmp_path, x):
    rng = np.random.default_rng(2)
    paths, expected = [], {}
    for name in sorted(DEEP_BUILDERS):
        model = DEEP_BUILDERS[name](SHAPE, 3, TINY)
        _randomise_weights(model, rng)
        path = str(tmp_path / f"{name}.keras")
        model.save(path)
        paths.append(path)
        expected[path] = np.asarray(model(x, training=False))
        assert np.ptp(expected[path], axis=0).max() > 1e-4  # inputs actually reach the output
    np.save(tmp_path / "x.npy", x)
    script = tmp_path / "reload.py"
    script.write_text(_RELOAD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "x.npy"), *paths], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for path in paths:
        np.testing.assert_array_equal(np.load(path + ".npy"), expected[path], err_msg=path)


def _epochs_of(dataset, steps: int) -> list[list[tuple[np.ndarray, ...]]]:
    batches = [tuple(part.numpy() for part in batch) for batch in dataset]
    assert len(batches) % steps == 0
    return [batches[i : i + steps] for i in range(0, len(batches), steps)]


def test_training_batches_visit_every_row_once_per_epoch_in_a_seeded_order():
    from nids.deep import training_batches

    x = np.arange(10, dtype=np.float32).reshape(10, 1) * 10
    y = np.arange(10) % 3
    dataset, steps = training_batches(x, y, batch_size=4, epochs=3, seed=7)
    assert steps == 3
    epochs = _epochs_of(dataset, steps)
    assert len(epochs) == 3
    orders = []
    for batches in epochs:
        assert [len(b[0]) for b in batches] == [4, 4, 2]  # the last batch of an epoch is the partial one
        rows = np.concatenate([b[0][:, 0] for b in batches]) / 10
        assert sorted(rows.astype(int).tolist()) == list(range(10))
        assert np.array_equal(np.concatenate([b[1] for b in batches]), y[rows.astype(int)])  # x and y stay paired
        orders.append(rows.tolist())
    assert orders[0] != orders[1] != orders[2]  # a fresh order every epoch

    def order(seed: int, epochs: int = 3) -> list[list[float]]:
        found = _epochs_of(training_batches(x, y, batch_size=4, epochs=epochs, seed=seed)[0], steps)
        return [(np.concatenate([b[0][:, 0] for b in e]) / 10).tolist() for e in found]

    assert order(7) == orders  # same seed, same batches
    assert order(8, epochs=1)[0] != orders[0]


def test_training_batches_carry_class_weights_as_sample_weights():
    from nids.deep import evaluation_batches, training_batches

    x = np.zeros((6, 1), dtype=np.float32)
    y = np.array([0, 0, 0, 0, 1, 2])
    dataset, steps = training_batches(x, y, batch_size=6, epochs=1, seed=0, class_weight={0: 0.5, 1: 3.0, 2: 3.0})
    ((_, yb, wb),) = [tuple(p.numpy() for p in b) for b in dataset]
    assert steps == 1 and np.array_equal(wb, np.where(yb == 0, 0.5, 3.0).astype(np.float32))
    plain = [tuple(p.numpy() for p in b) for b in evaluation_batches(x, y, 4)]
    assert [len(b) for b in plain] == [2, 2] and np.array_equal(np.concatenate([b[1] for b in plain]), y)
