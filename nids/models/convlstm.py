"""Seq2Seq-ConvLSTM intrusion detectors and their BiGRU extension, as pure Keras 3 builders.

Every flow is a short sequence of small 2-D frames (``nids.frames.to_frames``: input shape
``(T, H, W, 1)``). The builders here only build: no fitting, no file I/O. By default they use built-in Keras
layers only (no custom classes, no ``Lambda``), so a model saved with ``model.save("m.keras")``
reloads with plain ``keras.models.load_model("m.keras")`` in a fresh process. The faster
:class:`FusedConvLSTM2D` is swapped in for inference only (:func:`make_predict_fn`).

This module imports TensorFlow/Keras at its top; it is imported only when a deep model is used.

Architecture (``DeepConfig`` flags in brackets)::

    frames (T, H, W, 1)
      encoder: per block  ConvLSTM2D -> BatchNorm -> [MaxPool 1x2x2 in the first pool_blocks] -> Dropout
      [use_bigru]       per-step flatten -> Bidirectional(GRU)   (GRU if not bidirectional)
      [decoder_rnn]     GRU | LSTM over the per-step sequence  ("none": no recurrent decoding)
      (any RNN above)   Dense -> Reshape back to the encoder's compressed (T, h, w, c) maps
      decoder: per pooled block  UpSampling 1x2x2 -> ConvLSTM2D -> BatchNorm   (back to T, H, W)
      [merge]   per-step encoder features ++ per-step decoder features -> GlobalAveragePooling1D
      (no merge)                                          decoder maps -> GlobalAveragePooling3D
      Dropout -> Dense(n_classes, softmax)

Registry names (``DEEP_BUILDERS``) and their flags:

==========================================  =========  =============  ===========  =====
name                                        use_bigru  bidirectional  decoder_rnn  merge
==========================================  =========  =============  ===========  =====
``seq2seq_convlstm`` (baseline)             --         --             --           --
``seq2seq_convlstm_gru_decoder``            False      --             ``"gru"``    False
``seq2seq_convlstm_bigru``                  True       True           ``"none"``   False
``bigru_seq2seq_convlstm`` (extension)      True       True           ``"gru"``    True
``gru_seq2seq_convlstm`` (unidirectional)   True       False          ``"gru"``    True
``bigru_seq2seq_convlstm_lstm_decoder``     True       True           ``"lstm"``   True
==========================================  =========  =============  ===========  =====

References:
    Shi, X., Chen, Z., Wang, H., Yeung, D.-Y., Wong, W.-K. and Woo, W.-C. (2015). Convolutional
    LSTM Network: A Machine Learning Approach for Precipitation Nowcasting. NeurIPS 2015.
    Sutskever, I., Vinyals, O. and Le, Q. V. (2014). Sequence to Sequence Learning with Neural
    Networks. NeurIPS 2014.
    Cho, K., van Merrienboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H. and
    Bengio, Y. (2014). Learning Phrase Representations using RNN Encoder-Decoder for Statistical
    Machine Translation. EMNLP 2014.
    Schuster, M. and Paliwal, K. K. (1997). Bidirectional Recurrent Neural Networks. IEEE Trans.
    Signal Processing 45(11).
    Moustafa, N. and Slay, J. (2015). UNSW-NB15: a comprehensive data set for network intrusion
    detection systems. MilCIS 2015.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from nids.errors import BadInputError, NidsError, unknown_name
from nids.frames import FrameConfig, check_frames

__all__ = [
    "DEEP_BUILDERS",
    "DeepConfig",
    "build_bigru_seq2seq_convlstm",
    "build_deep_model",
    "build_seq2seq_convlstm",
    "fuse_convlstm",
    "make_predict_fn",
]

DECODER_RNNS = ("none", "gru", "lstm")


@dataclass(frozen=True)
class DeepConfig:
    """Sizes and switches of the ConvLSTM models, validated once at construction.

    The defaults are sized for a 2-core CPU, measured with ``benchmarks/bench_deep_epoch.py``
    (50,000 flows, ``F = 60`` features -> frames ``(4, 4, 4, 1)``, 10 classes, batch 2048). The
    cost is dominated by the ConvLSTM2D convolutions: Keras runs eight small convolutions per time
    step per layer, and their cost hardly shrinks below ~8 filters, so the levers are the
    convolutions at full 4x4 resolution (first encoder block, decoder), the decoder's input
    channels, the kernel size and the batch size. With these defaults the extension trained an
    epoch in ~6.5-7 s and predicted ~18,000-22,000 flows/s (~11,500 flows per CPU-second) when the
    machine was otherwise nearly idle; other processes on the 2 cores roughly halve both.
    ``encoder_filters=(8, 16)`` learned slightly better on the benchmark's synthetic task but
    predicted ~20% slower (its decoder ConvLSTM reads 16 channels at 4x4); ``kernel_size=2`` or
    ``(4, 8)`` predicted ~10-25% faster but learned clearly worse. Train with large batches
    (1024-2048): per-step overhead, not arithmetic, dominates small batches. The first epoch also
    pays ~4-6 s of graph tracing (more with ``unroll=False``, not less; twice that if the optimizer
    state is not built before ``fit``, see ``nids.deep.build_training_state``).

    Attributes:
        encoder_filters: Filters of each stacked encoder ConvLSTM2D block, in order.
        kernel_size: Square kernel of every ConvLSTM2D (``padding="same"``).
        pool_blocks: How many leading encoder blocks halve ``H`` and ``W`` with a 2x2 max-pool;
            the decoder up-samples 2x2 as many times, so frames need ``H`` and ``W`` divisible
            by ``2 ** pool_blocks`` (``nids.frames.default_frame_config`` gives even sides).
        dropout: Dropout rate after every encoder block and before the classifier.
        bn_momentum: Momentum of the BatchNormalization moving statistics. Lower than Keras'
            0.99 so that inference statistics settle within one short epoch (with 0.99 and
            ~100 steps the moving averages lag and held-out accuracy stays near chance).
        rnn_units: Units of the (Bi)GRU encoder RNN and of the GRU/LSTM decoder RNN (per
            direction for the bidirectional one).
        use_bigru: Run a (bi)directional GRU over the encoder's per-time-step features.
        bidirectional: Make that GRU bidirectional (``False``: unidirectional GRU).
        decoder_rnn: Recurrent decoding before up-sampling: ``"gru"``, ``"lstm"`` or ``"none"``.
        merge: Concatenate per-step encoder and decoder features into one hybrid representation
            before pooling (``False``: pool the decoder maps only).
        unroll: Unroll the recurrent loops over the ``T`` steps (faster for short ``T`` on CPU).
        fused: Build with :class:`FusedConvLSTM2D` instead of the stock ``ConvLSTM2D``. Off by
            default: it does not train faster. On the real UNSW-NB15 layout (78 features ->
            frames ``(4, 4, 6)``) a training step of the extension took 1.13x (batch 1024) and
            1.16x (batch 2048) the stock layer's time, measured interleaved in one process
            (``benchmarks/bench_train_step.py``); a model saved with it also reloads only where
            ``nids.models.convlstm`` is imported. Inference is fused either way:
            :func:`make_predict_fn` scores a fused copy.
        jit_compile: Whether callers should XLA-compile *training*
            (``model.compile(jit_compile=cfg.jit_compile)``). Off by default: on CPU, XLA made a
            training epoch about 5x slower (its convolution gradients are slow). Inference is
            compiled separately by ``make_predict_fn``, where XLA does pay off.

    Raises:
        NidsError: If a value is out of range.
    """

    encoder_filters: tuple[int, ...] = (8, 8)
    kernel_size: int = 3
    pool_blocks: int = 1
    dropout: float = 0.2
    bn_momentum: float = 0.9
    rnn_units: int = 32
    use_bigru: bool = True
    bidirectional: bool = True
    decoder_rnn: str = "gru"
    merge: bool = True
    unroll: bool = True
    fused: bool = False
    jit_compile: bool = False

    def __post_init__(self) -> None:
        filters = tuple(self.encoder_filters)
        object.__setattr__(self, "encoder_filters", filters)
        if not filters or any(not _is_pos_int(f) for f in filters):
            raise NidsError(
                f"DeepConfig.encoder_filters must be a non-empty tuple of positive ints; got {self.encoder_filters!r}"
            )
        for name in ("kernel_size", "rnn_units"):
            if not _is_pos_int(getattr(self, name)):
                raise NidsError(f"DeepConfig.{name} must be a positive int; got {getattr(self, name)!r}")
        if (
            isinstance(self.pool_blocks, bool)
            or not isinstance(self.pool_blocks, int)
            or not 1 <= self.pool_blocks <= len(filters)
        ):
            raise NidsError(
                f"DeepConfig.pool_blocks must be an int in 1..{len(filters)} (the number of "
                f"encoder blocks); got {self.pool_blocks!r}"
            )
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise NidsError(f"DeepConfig.dropout must be in [0, 1); got {self.dropout!r}")
        if not isinstance(self.bn_momentum, (int, float)) or not 0.0 <= self.bn_momentum < 1.0:
            raise NidsError(f"DeepConfig.bn_momentum must be in [0, 1); got {self.bn_momentum!r}")
        if self.decoder_rnn not in DECODER_RNNS:
            raise NidsError(f"DeepConfig.decoder_rnn must be one of {', '.join(DECODER_RNNS)}; got {self.decoder_rnn!r}")
        for name in ("use_bigru", "bidirectional", "merge", "unroll", "fused", "jit_compile"):
            if not isinstance(getattr(self, name), bool):
                raise NidsError(f"DeepConfig.{name} must be a bool; got {getattr(self, name)!r}")


def _is_pos_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_input(input_shape: Sequence[int], n_classes: int, cfg: DeepConfig) -> tuple[int, ...]:
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 4 or shape[-1] != 1 or min(shape) < 1:
        raise BadInputError(f"input_shape must be one flow's frames (T, H, W, 1); got {tuple(input_shape)}")
    step = 2**cfg.pool_blocks
    if shape[1] % step or shape[2] % step:
        raise BadInputError(
            f"frames of H x W = {shape[1]} x {shape[2]} cannot round-trip {cfg.pool_blocks} 2x2 "
            f"pool/up-sampling round(s): H and W must be divisible by {step}"
        )
    if not _is_pos_int(n_classes) or n_classes < 2:
        raise BadInputError(f"n_classes must be an int >= 2 (binary: 2); got {n_classes!r}")
    return shape


@keras.saving.register_keras_serializable(package="nids")
class FusedConvLSTM2D(layers.ConvLSTM2D):
    """``keras.layers.ConvLSTM2D`` computed with fewer, larger convolutions: same weights, same outputs.

    Keras' ConvLSTM cell runs eight convolutions per time step (one per gate for the input and
    one per gate for the state), each with ``filters`` output channels. On a CPU, convolutions
    this small are dominated by per-op cost, so this layer (for the configuration the builders
    use: ``padding="same"``, stride 1, no dilation, no dropout, ``return_sequences=True``, no
    mask or initial state) computes the input convolution of all ``T`` steps as *one* convolution
    with ``4 * filters`` output channels, and the state convolution as one convolution per step
    (none at step 0, where the state is zero). The weights (``kernel``, ``recurrent_kernel``,
    ``bias``) and the gate order (i, f, c, o) are those of the stock layer, so its weights can be
    copied in and the outputs agree to float32 rounding (``tests/unit/test_convlstm_models.py``).
    Any other configuration falls back to the stock implementation. Registered as
    ``nids>FusedConvLSTM2D``; importing ``nids.models.convlstm`` (which ``nids.deep`` does)
    makes saved models reload.

    References:
        Shi et al., "Convolutional LSTM Network: A Machine Learning Approach for Precipitation
        Nowcasting", NeurIPS 2015 (the cell computed here).
    """

    def _fusable(self) -> bool:
        cell = self.cell
        return (
            cell.padding == "same"
            and cell.data_format == "channels_last"
            and all(s == 1 for s in cell.strides)
            and all(d == 1 for d in cell.dilation_rate)
            and cell.dropout == 0.0
            and cell.recurrent_dropout == 0.0
            and self.return_sequences
            and not self.return_state
            and not self.go_backwards
            and not self.stateful
        )

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None or mask is not None or not self._fusable():
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        cell = self.cell
        t, h, w, c = sequences.shape[1:]
        f = cell.filters
        x = keras.ops.reshape(sequences, (-1, h, w, c))
        x = keras.ops.conv(x, cell.kernel, padding="same")
        if cell.bias is not None:
            x = x + cell.bias
        x = keras.ops.reshape(x, (-1, t, h, w, 4 * f))
        act, rec_act = cell.activation, cell.recurrent_activation
        outputs = []
        state = carry = None
        for step in range(t):
            z = x[:, step]
            if state is not None:
                z = z + keras.ops.conv(state, cell.recurrent_kernel, padding="same")
            z_i, z_f, z_c, z_o = keras.ops.split(z, 4, axis=-1)
            new = rec_act(z_i) * act(z_c)
            carry = new if carry is None else rec_act(z_f) * carry + new
            state = rec_act(z_o) * act(carry)
            outputs.append(state)
        return keras.ops.stack(outputs, axis=1)


def _conv_lstm(filters: int, cfg: DeepConfig, name: str) -> layers.ConvLSTM2D:
    conv_lstm = FusedConvLSTM2D if cfg.fused else layers.ConvLSTM2D
    return conv_lstm(
        filters,
        cfg.kernel_size,
        padding="same",
        return_sequences=True,
        unroll=cfg.unroll,
        name=name,
    )


def _encoder(inputs: keras.KerasTensor, cfg: DeepConfig) -> keras.KerasTensor:
    x = inputs
    for i, filters in enumerate(cfg.encoder_filters):
        x = _conv_lstm(filters, cfg, f"enc_convlstm_{i}")(x)
        x = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"enc_bn_{i}")(x)
        if i < cfg.pool_blocks:
            x = layers.MaxPooling3D(pool_size=(1, 2, 2), name=f"enc_pool_{i}")(x)
        x = layers.Dropout(cfg.dropout, name=f"enc_dropout_{i}")(x)
    return x


def _decoder(x: keras.KerasTensor, cfg: DeepConfig) -> keras.KerasTensor:
    """Up-sample back to (T, H, W): one UpSampling3D + ConvLSTM2D per pooled encoder block."""
    for i in reversed(range(cfg.pool_blocks)):
        x = layers.UpSampling3D(size=(1, 2, 2), name=f"dec_upsample_{i}")(x)
        x = _conv_lstm(cfg.encoder_filters[i], cfg, f"dec_convlstm_{i}")(x)
        x = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"dec_bn_{i}")(x)
    return x


def _per_step(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    """(n, T, h, w, c) -> (n, T, c): spatial average of each time step's maps."""
    t, h, w, c = x.shape[1:]
    x = layers.AveragePooling3D(pool_size=(1, h, w), name=f"{name}_avg")(x)
    return layers.Reshape((t, c), name=f"{name}_seq")(x)


def _classifier(x: keras.KerasTensor, n_classes: int, cfg: DeepConfig) -> keras.KerasTensor:
    x = layers.Dropout(cfg.dropout, name="head_dropout")(x)
    return layers.Dense(n_classes, activation="softmax", name="probabilities")(x)


def build_seq2seq_convlstm(input_shape: Sequence[int], n_classes: int, cfg: DeepConfig | None = None) -> keras.Model:
    """Build the baseline Seq2Seq-ConvLSTM intrusion detector.

    An encoder of stacked ConvLSTM2D blocks (each ``return_sequences=True``, then
    BatchNormalization, a 1x2x2 spatial max-pool in the first ``cfg.pool_blocks`` blocks and
    Dropout) compresses each flow's frame sequence; a decoder of UpSampling3D (1x2x2) and
    ConvLSTM2D reconstructs the sequence at the input resolution; GlobalAveragePooling3D and a
    softmax Dense layer classify it (the binary task uses ``n_classes=2``). The ConvLSTM is that
    of Shi et al. (2015), arranged as a sequence-to-sequence encoder-decoder (Sutskever et al.,
    2014) over flow records tensorized into frames, the Seq2Seq-ConvLSTM NIDS design evaluated
    on UNSW-NB15 (Moustafa & Slay, 2015). The recurrent flags of ``cfg`` (``use_bigru``,
    ``decoder_rnn``, ``merge``, ``bidirectional``) are ignored here.

    References:
        Shi et al., "Convolutional LSTM Network: A Machine Learning Approach for Precipitation
        Nowcasting", NeurIPS 2015. Moustafa & Slay, "UNSW-NB15: a comprehensive data set for
        network intrusion detection systems", MilCIS 2015.

    Args:
        input_shape: One flow's frames ``(T, H, W, 1)``; ``H`` and ``W`` divisible by
            ``2 ** cfg.pool_blocks``.
        n_classes: Number of output classes (>= 2).
        cfg: Sizes; ``DeepConfig()`` if ``None``.

    Returns:
        An uncompiled ``keras.Model`` mapping ``(n, T, H, W, 1)`` frames to ``(n, n_classes)``
        class probabilities.

    Raises:
        BadInputError: If ``input_shape`` or ``n_classes`` does not fit the model.
    """
    cfg = cfg or DeepConfig()
    shape = _check_input(input_shape, n_classes, cfg)
    inputs = keras.Input(shape=shape, name="frames")
    x = _encoder(inputs, cfg)
    x = _decoder(x, cfg)
    x = layers.GlobalAveragePooling3D(name="gap")(x)
    return keras.Model(inputs, _classifier(x, n_classes, cfg), name="seq2seq_convlstm")


def build_bigru_seq2seq_convlstm(input_shape: Sequence[int], n_classes: int, cfg: DeepConfig | None = None) -> keras.Model:
    """Build the BiGRU-Seq2Seq-ConvLSTM extension (and, via ``cfg`` flags, its ablations).

    The same ConvLSTM encoder as ``build_seq2seq_convlstm`` (Shi et al., 2015). The extension
    adds: (1) a Bidirectional GRU (Cho et al., 2014; Schuster & Paliwal, 1997) over the encoder's
    per-time-step features (each step's compressed feature map flattened), so temporal context
    flows in both directions across the flow's frames (``cfg.use_bigru``;
    ``cfg.bidirectional=False`` gives a unidirectional GRU); (2) recurrent decoding with a GRU
    (``cfg.decoder_rnn="gru"``, or an LSTM twin with ``"lstm"``) whose per-step output is
    projected back to the compressed maps, then UpSampling3D and ConvLSTM2D restore the input
    resolution, in place of the baseline's purely convolutional-LSTM decoding; and (3) a hybrid
    representation: per-step encoder features ((Bi)GRU output, or spatially averaged encoder
    maps without it) and spatially averaged decoder features concatenated (``cfg.merge``),
    then GlobalAveragePooling1D and a softmax Dense layer. Designed for the Seq2Seq-ConvLSTM NIDS
    setting on UNSW-NB15 (Moustafa & Slay, 2015).

    References:
        Shi et al., "Convolutional LSTM Network", NeurIPS 2015. Cho et al., "Learning Phrase
        Representations using RNN Encoder-Decoder for Statistical Machine Translation",
        EMNLP 2014. Moustafa & Slay, "UNSW-NB15", MilCIS 2015.

    Args:
        input_shape: One flow's frames ``(T, H, W, 1)``; ``H`` and ``W`` divisible by
            ``2 ** cfg.pool_blocks``.
        n_classes: Number of output classes (>= 2).
        cfg: Sizes and switches; ``DeepConfig()`` (the full extension) if ``None``.

    Returns:
        An uncompiled ``keras.Model`` mapping ``(n, T, H, W, 1)`` frames to ``(n, n_classes)``
        class probabilities.

    Raises:
        BadInputError: If ``input_shape`` or ``n_classes`` does not fit the model.
    """
    cfg = cfg or DeepConfig()
    return _build_extension(input_shape, n_classes, cfg, _variant_name(cfg))


def _build_extension(input_shape: Sequence[int], n_classes: int, cfg: DeepConfig, name: str) -> keras.Model:
    shape = _check_input(input_shape, n_classes, cfg)
    inputs = keras.Input(shape=shape, name="frames")
    enc = _encoder(inputs, cfg)
    t, h, w, c = enc.shape[1:]

    seq = layers.Reshape((t, h * w * c), name="enc_steps")(enc)
    enc_seq = None
    if cfg.use_bigru:
        gru = layers.GRU(cfg.rnn_units, return_sequences=True, unroll=cfg.unroll, name="enc_gru")
        if cfg.bidirectional:
            gru = layers.Bidirectional(gru, name="enc_bigru")
        seq = enc_seq = gru(seq)
    if cfg.decoder_rnn != "none":
        rnn_cls = layers.GRU if cfg.decoder_rnn == "gru" else layers.LSTM
        seq = rnn_cls(cfg.rnn_units, return_sequences=True, unroll=cfg.unroll, name=f"dec_{cfg.decoder_rnn}")(seq)
    if cfg.use_bigru or cfg.decoder_rnn != "none":
        # Back from per-step vectors to the compressed maps the ConvLSTM decoder up-samples.
        x = layers.Dense(h * w * c, activation="relu", name="dec_project")(seq)
        x = layers.Reshape((t, h, w, c), name="dec_maps")(x)
    else:
        x = enc
    dec = _decoder(x, cfg)

    if cfg.merge:
        if enc_seq is None:
            enc_seq = _per_step(enc, "enc")
        hybrid = layers.Concatenate(axis=-1, name="hybrid")([enc_seq, _per_step(dec, "dec")])
        x = layers.GlobalAveragePooling1D(name="gap")(hybrid)
    else:
        x = layers.GlobalAveragePooling3D(name="gap")(dec)
    return keras.Model(inputs, _classifier(x, n_classes, cfg), name=name)


def _variant_name(cfg: DeepConfig) -> str:
    """The model name for ``cfg``'s flags: its registry name where one matches."""
    for name, build in DEEP_BUILDERS.items():
        flags = getattr(build, "flags", None)
        if flags is not None and all(getattr(cfg, k) == v for k, v in flags.items()):
            return name
    return "bigru_seq2seq_convlstm_custom"


def _with_flags(name: str, **flags: object) -> Callable[[Sequence[int], int, DeepConfig | None], keras.Model]:
    """The extension builder with ablation ``flags`` forced on the given (or default) config."""

    def build(input_shape: Sequence[int], n_classes: int, cfg: DeepConfig | None = None) -> keras.Model:
        return _build_extension(input_shape, n_classes, dataclasses.replace(cfg or DeepConfig(), **flags), name)

    build.__name__ = build.__qualname__ = f"build_{name}"
    build.__doc__ = (
        f"Build the {name!r} variant: ``build_bigru_seq2seq_convlstm`` with {flags} forced on ``cfg`` (sizes come from ``cfg``)."
    )
    build.flags = dict(flags)  # type: ignore[attr-defined]
    return build


DEEP_BUILDERS: dict[str, Callable[[Sequence[int], int, DeepConfig | None], keras.Model]] = {
    "seq2seq_convlstm": build_seq2seq_convlstm,
    "seq2seq_convlstm_gru_decoder": _with_flags("seq2seq_convlstm_gru_decoder", use_bigru=False, decoder_rnn="gru", merge=False),
    "seq2seq_convlstm_bigru": _with_flags(
        "seq2seq_convlstm_bigru", use_bigru=True, bidirectional=True, decoder_rnn="none", merge=False
    ),
    "bigru_seq2seq_convlstm": _with_flags(
        "bigru_seq2seq_convlstm", use_bigru=True, bidirectional=True, decoder_rnn="gru", merge=True
    ),
    "gru_seq2seq_convlstm": _with_flags(
        "gru_seq2seq_convlstm", use_bigru=True, bidirectional=False, decoder_rnn="gru", merge=True
    ),
    "bigru_seq2seq_convlstm_lstm_decoder": _with_flags(
        "bigru_seq2seq_convlstm_lstm_decoder",
        use_bigru=True,
        bidirectional=True,
        decoder_rnn="lstm",
        merge=True,
    ),
}
"""Registry name -> builder ``(input_shape, n_classes, cfg) -> keras.Model``.

Every entry except the baseline fixes the ablation flags of ``cfg`` (sizes still come from the
``cfg`` passed in); see the module docstring's table.
"""


def build_deep_model(name: str, input_shape: Sequence[int], n_classes: int, cfg: DeepConfig | None = None) -> keras.Model:
    """Build a registered deep model by name.

    Args:
        name: A key of ``DEEP_BUILDERS``.
        input_shape: One flow's frames ``(T, H, W, 1)``.
        n_classes: Number of output classes (>= 2).
        cfg: Sizes; ``DeepConfig()`` if ``None``.

    Returns:
        The uncompiled model.

    Raises:
        UnknownNameError: If ``name`` is not registered.
        BadInputError: If ``input_shape`` or ``n_classes`` does not fit the model.
    """
    try:
        builder = DEEP_BUILDERS[name]
    except KeyError:
        raise unknown_name("deep model", name, list(DEEP_BUILDERS)) from None
    return builder(input_shape, n_classes, cfg)


def fuse_convlstm(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with every stock ``ConvLSTM2D`` replaced by :class:`FusedConvLSTM2D`.

    Same configuration, same weights, outputs equal to float32 rounding; used for inference only,
    so saved models keep built-in layers. A model without stock ConvLSTM2D layers is returned as is.
    """
    if not any(type(layer) is layers.ConvLSTM2D for layer in model.layers):
        return model

    def clone(layer):
        cls = FusedConvLSTM2D if type(layer) is layers.ConvLSTM2D else layer.__class__
        return cls.from_config(layer.get_config())

    fused = keras.models.clone_model(model, clone_function=clone)
    fused.set_weights(model.get_weights())
    return fused


def make_predict_fn(
    model: keras.Model, jit_compile: bool | str = "auto", xla_max_batch: int = 64
) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap ``model`` in compiled inference functions: the fast path for one flow and for many.

    ``model.predict`` builds a data pipeline and runs callbacks on every call, which costs
    tens of milliseconds even for one row. This traces ``model(x, training=False)`` in a
    ``tf.function`` with a batch-polymorphic input signature instead. On a 2-core CPU, XLA
    (``jit_compile``) roughly halves the latency of small batches (one flow: ~1-1.5 ms p50 instead
    of ~3 ms; p99 ~2 ms) but is no faster than the plain graph on large batches, and it compiles
    once per batch shape (a second or so each). So by default (``"auto"``) batches of at most
    ``xla_max_batch`` rows run XLA-compiled, zero-padded to the next power of two (7 compiled
    shapes for the default 64), and larger batches run the plain traced graph. Warm it up with
    the batch sizes you will use.

    Args:
        model: A model mapping ``(n, T, H, W, 1)`` frames to ``(n, n_classes)`` probabilities.
        jit_compile: ``"auto"`` (XLA for small batches only), ``True`` (XLA for every batch;
            one compilation per distinct batch size) or ``False`` (never XLA).
        xla_max_batch: Largest batch that ``"auto"`` sends to the XLA function.

    Returns:
        A function taking frames ``(n, T, H, W, 1)`` (any float dtype) and returning the float32
        numpy probabilities ``(n, n_classes)``. It raises ``BadInputError`` (via
        ``nids.frames.check_frames``) for arrays of another layout.

    Raises:
        NidsError: If ``jit_compile`` or ``xla_max_batch`` is not valid.
    """
    if jit_compile not in (True, False, "auto"):
        raise NidsError(f"jit_compile must be True, False or 'auto'; got {jit_compile!r}")
    if not _is_pos_int(xla_max_batch):
        raise NidsError(f"xla_max_batch must be a positive int; got {xla_max_batch!r}")
    t, h, w, _ = model.input_shape[1:]
    frames = FrameConfig(timesteps=t, height=h, width=w)
    spec = tf.TensorSpec(shape=(None, t, h, w, 1), dtype=tf.float32)
    n_classes = int(model.output_shape[-1])
    scorer = fuse_convlstm(model)  # fewer, larger convolutions: ~1.3x the batched flows/s on 2 CPU cores

    def forward(x: tf.Tensor) -> tf.Tensor:
        return scorer(x, training=False)

    graph_fn = tf.function(forward, input_signature=[spec], jit_compile=False)
    xla_fn = tf.function(forward, input_signature=[spec], jit_compile=True)

    def predict(x: np.ndarray) -> np.ndarray:
        check_frames(x, frames)
        x = np.asarray(x, dtype=np.float32)
        n = len(x)
        if n == 0:  # the recurrent layers reject empty batches
            return np.zeros((0, n_classes), dtype=np.float32)
        if jit_compile is True:
            return xla_fn(tf.constant(x)).numpy()
        if jit_compile is False or n > xla_max_batch:
            return graph_fn(tf.constant(x)).numpy()
        size = 1 << (n - 1).bit_length()  # next power of two: few shapes, few XLA compilations
        if size > n:
            x = np.concatenate([x, np.zeros((size - n, *x.shape[1:]), dtype=np.float32)])
        return xla_fn(tf.constant(x)).numpy()[:n]

    predict.__doc__ = f"Compiled inference of {model.name!r}: frames (n, T, H, W, 1) -> probabilities (n, n_classes)."
    return predict
