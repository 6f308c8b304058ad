"""PeerLearn's recommender: plain modules that take ids, interactions and features.

- :mod:`.data`: :class:`~.data.InteractionData`, the synthetic generator and the CSV reader;
- :mod:`.db`: extraction of the site's own data (the only module that touches Django models);
- :mod:`.model`: :class:`~.model.Recommender`, LightFM training and numpy-only serving;
- :mod:`.artifact`: versioned model files on disk;
- :mod:`.evaluate`: splits, metrics and baselines;
- :mod:`.training`: measure, fit and save a version (what ``train_recommender`` and the retraining task run).

Nothing here loads a model at import time, and nothing here knows about HTTP. The Django edge (what
views, commands and the background task call) is :mod:`mentoring.services.recommendations`.
"""
