"""The run's evidence as a library (no pytest): the results model, the evidence document, the
timeline, the compliance controls, the history, the manifest and the scrubbing of files.

The pytest plugin (`fixtures/reporting.py`) only collects outcomes through hooks and calls in
here; `python -m recovery` can file the same evidence without pytest.
"""
