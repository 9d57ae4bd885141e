"""The prediction apps: the ipywidgets app behind the Voila notebook 08 and the Flask page.

Both read uploads with :func:`nids.datasets.io.read_table` and score them with
:meth:`nids.detector.Detector.predict` through :func:`nids.apps.core.predict_upload`, the same
path as ``nids predict``. Nothing here is imported by ``import nids``.
"""
