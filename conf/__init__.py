"""Hydra config groups of seqexp (packaged as seqexp.conf)."""
