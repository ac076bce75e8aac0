"""The meta-learning engine: pure PyTorch, no web imports.

Parameters are plain ``dict[str, Tensor]``; networks are functions of those
dicts; inner loops are pure functions; every algorithm has the signature of
:class:`app.meta.algorithms.base.MetaGradient`.
"""
