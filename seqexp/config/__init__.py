"""The configuration: options registered by name with their typed schemas
(:mod:`~seqexp.config.registry`), the root config and its registration in Hydra's
ConfigStore (:mod:`~seqexp.config.schemas`), the rules the types cannot express
(:mod:`~seqexp.config.rules`) and config errors as one line (:mod:`~seqexp.config.messages`).
None of these modules imports TensorFlow, Keras or MLflow.
"""
