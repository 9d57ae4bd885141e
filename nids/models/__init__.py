"""Model registry: one name per model family. Builders live in the sub-modules.

``rf`` is the classic baseline (scikit-learn). The deep models (Keras, imported lazily so that the
RF path never loads TensorFlow) are the subject of the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from nids.errors import unknown_name


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its name, framework (``"sklearn"`` or ``"keras"``) and a one-line summary."""

    name: str
    kind: str
    description: str


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("rf", "sklearn", "Random Forest baseline"),
        ModelSpec("seq2seq_convlstm", "keras", "Seq2Seq-ConvLSTM: ConvLSTM encoder, ConvLSTM + up-sampling decoder"),
        ModelSpec("bigru_seq2seq_convlstm", "keras", "the extension: encoder + BiGRU, GRU-based decoder, merged features"),
        ModelSpec("seq2seq_convlstm_gru_decoder", "keras", "ablation: baseline + GRU decoder"),
        ModelSpec("seq2seq_convlstm_bigru", "keras", "ablation: baseline + Bidirectional GRU"),
        ModelSpec("bigru_seq2seq_convlstm_lstm_decoder", "keras", "ablation: the extension with an LSTM decoder"),
        ModelSpec("gru_seq2seq_convlstm", "keras", "ablation: the extension with a unidirectional GRU"),
    ]
}


def get_model_spec(name: str) -> ModelSpec:
    """The registered model called ``name``.

    Raises:
        UnknownNameError: no such model; the message lists the known names.
    """
    if name not in MODELS:
        raise unknown_name("model", name, list(MODELS))
    return MODELS[name]
