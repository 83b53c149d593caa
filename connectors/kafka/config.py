"""``kafka://`` URL parsing and the settings of the kafka-python consumer."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FAST_GROUP_CONFIG", "consumer_config", "parse_url"]

#: Fast consumer-group settings: a join takes ~3 s instead of ~20 s.
FAST_GROUP_CONFIG = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 500,
    "max_poll_interval_ms": 10000,
}


def parse_url(url: str) -> tuple[str, str, dict]:
    """Split ``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=ID`` into source arguments.

    Parameters
    ----------
    url : str
        The URL. Query parameters ``group`` (or ``group_id``), ``assign``,
        ``idle_timeout`` (seconds), ``poll_timeout_ms`` and
        ``max_chunk_bytes`` are understood; others are ignored.

    Returns
    -------
    hosts : str
        Comma-separated ``HOST:PORT`` list.
    topics : str
        Comma-separated topic list (percent-decoded).
    kwargs : dict
        Keyword arguments of :class:`streamsgns.connectors.kafka.KafkaSource` taken
        from the query.

    Raises
    ------
    ValueError
        If the scheme is not ``kafka``, the host or the topic is missing, or
        a numeric query value is not a number.

    Examples
    --------
    >>> parse_url("kafka://h:9092/news?group=g&idle_timeout=2")
    ('h:9092', 'news', {'group_id': 'g', 'idle_timeout': 2.0})
    """
    parts = urlsplit(url)
    if parts.scheme != "kafka":
        raise ValueError(f"not a kafka:// URL: {url!r}")
    hosts = parts.netloc
    topics = unquote(parts.path.lstrip("/"))
    if not hosts or not topics:
        raise ValueError(f"kafka URL needs hosts and a topic: kafka://HOST:PORT/TOPIC, got {url!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    args: dict = {}
    if "group" in query or "group_id" in query:
        args["group_id"] = query.get("group", query.get("group_id"))
    if "assign" in query:
        args["assign"] = query["assign"]
    if "idle_timeout" in query:
        args["idle_timeout"] = float(query["idle_timeout"])
    if "poll_timeout_ms" in query:
        args["poll_timeout_ms"] = int(query["poll_timeout_ms"])
    if "max_chunk_bytes" in query:
        args["max_chunk_bytes"] = int(query["max_chunk_bytes"])
    return hosts, topics, args


def consumer_config(bootstrap_servers: list[str], group_id: str | None, max_backoff: float,
                    max_chunk_bytes: int, extra: dict) -> dict:
    """Settings of the :class:`~kafka.KafkaConsumer` of a source.

    Parameters
    ----------
    bootstrap_servers : list of str
        ``"HOST:PORT"`` strings.
    group_id : str or None
        Consumer group.
    max_backoff : float
        Longest reconnect backoff of kafka-python, in seconds.
    max_chunk_bytes : int
        Chunk size limit in bytes; a partition fetch may bring at least that
        much (and at least 1 MiB).
    extra : dict
        The caller's settings; they override every default.

    Returns
    -------
    dict
        Never auto-commit, start at the earliest offset without a committed
        one, never auto-create topics, the fast group timings of
        :data:`FAST_GROUP_CONFIG`; defaults that the installed kafka-python
        does not know are dropped (``extra`` is passed as given).
    """
    cfg = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "client_id": "streamsgns",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "allow_auto_create_topics": False,
        "reconnect_backoff_max_ms": int(max_backoff * 1000),
        "bootstrap_timeout_ms": 5000,
        # a single message larger than this still comes back whole (KIP-74)
        "max_partition_fetch_bytes": max(1 << 20, max_chunk_bytes),
        **FAST_GROUP_CONFIG,
    }
    from kafka import KafkaConsumer

    known = getattr(KafkaConsumer, "DEFAULT_CONFIG", None)
    if known:  # drop our defaults that this kafka-python version lacks
        cfg = {k: v for k, v in cfg.items() if k in known}
    cfg.update(extra)
    return cfg
