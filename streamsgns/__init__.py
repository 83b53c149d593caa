"""streamsgns: word2vec's skip-gram with negative sampling, online, over unbounded text streams."""

from .learner import SGNS

__all__ = ["SGNS"]
__version__ = "0.1.0"
