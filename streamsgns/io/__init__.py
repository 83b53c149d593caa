"""Everything streamsgns writes to or reads from disk.

* :mod:`~streamsgns.io.atomic`: the one atomic writer (temp file, fsync, rename);
* :mod:`~streamsgns.io.word2vec`: the one word2vec text/binary reader and writer;
* :mod:`~streamsgns.io.checkpoint`: full checkpoints (``.npz`` + JSON manifest, no pickle);
* :mod:`~streamsgns.io.snapshotter`: periodic snapshots in a directory, keep-last-K;
* :mod:`~streamsgns.io.open`: the one reader of a SNAPSHOT (vectors file, checkpoint or directory).
"""
